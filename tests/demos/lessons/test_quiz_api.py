"""/api/v1/lessons/<slug>/quiz/: questions without answers, server-side grading,
best scores kept per student, "done" granted by passing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from demos.lessons.quizzes import QUIZZES_DIR, read_quiz
from demos.lessons.services import load_lessons
from demos.models import LessonProgress, QuizScore

pytestmark = pytest.mark.django_db

URL = "/api/v1/lessons/stride-padding/quiz/"
QUIZ = read_quiz(QUIZZES_DIR, "stride-padding")  # 5 questions, pass mark 3
RIGHT = {q.id: q.answer for q in QUIZ.questions}


@pytest.fixture(autouse=True)
def course(db) -> None:
    load_lessons()


def post(client: Client, answers: object, url: str = URL, **extra: str):
    return client.post(
        url, json.dumps({"answers": answers}), content_type="application/json", **extra
    )


def wrong(count: int) -> dict:
    """The right answers with the first ``count`` spoilt."""
    answers = dict(RIGHT)
    for question in QUIZ.questions[:count]:
        answers[question.id] = (
            (question.answer + 1) % len(question.choices)
            if question.kind == "choice"
            else question.answer + 1000
        )
    return answers


def test_questions_come_in_the_request_language_without_answers(
    client: Client,
) -> None:
    english = client.get(URL).json()
    korean = client.get(URL, HTTP_ACCEPT_LANGUAGE="ko").json()
    assert [q["id"] for q in english["questions"]] == [q.id for q in QUIZ.questions]
    assert english["questions"][0]["prompt"] == QUIZ.questions[0].prompt["en"]
    assert korean["questions"][0]["prompt"] == QUIZ.questions[0].prompt["ko"]
    text = json.dumps(english)
    for question in QUIZ.questions:
        assert question.explanation["en"] not in text
    assert all(
        set(q) == {"id", "kind", "prompt", "choices"} for q in english["questions"]
    )
    choice = next(q for q in english["questions"] if q["kind"] == "choice")
    assert len(choice["choices"]) >= 2 and all(choice["choices"])


def test_full_marks_pass_store_the_score_and_mark_the_lesson_done(
    logged_in_client: Client, user
) -> None:
    response = post(logged_in_client, RIGHT)
    assert response.status_code == 200
    body = response.json()
    assert (body["score"], body["total"], body["passed"]) == (5, 5, True)
    assert body["saved"] is True and body["best_score"] == 5
    assert all(item["correct"] for item in body["feedback"])
    assert {item["id"] for item in body["feedback"]} == set(RIGHT)
    assert all(item["explanation"] for item in body["feedback"])
    row = QuizScore.objects.get(user=user, lesson__slug="stride-padding")
    assert (row.best_score, row.total, row.attempts, row.passed) == (5, 5, 1, True)
    assert LessonProgress.objects.filter(user=user, lesson__slug="stride-padding")


def test_a_failed_attempt_keeps_the_best_score_and_does_not_mark_done(
    logged_in_client: Client, user
) -> None:
    first = post(logged_in_client, wrong(3)).json()
    assert (first["score"], first["passed"]) == (2, False)  # pass mark is 3 of 5
    assert not LessonProgress.objects.filter(user=user).exists()
    post(logged_in_client, wrong(2))
    worse = post(logged_in_client, wrong(5)).json()
    assert worse["score"] == 0 and worse["best_score"] == 3
    row = QuizScore.objects.get(user=user)
    assert (row.best_score, row.last_score, row.attempts) == (3, 0, 3)
    assert row.passed is True  # the second attempt passed
    assert LessonProgress.objects.filter(user=user).count() == 1


def test_feedback_explains_the_choice_picked_in_korean(
    logged_in_client: Client,
) -> None:
    choice = next(q for q in QUIZ.questions if q.kind == "choice")
    picked = (choice.answer + 1) % len(choice.choices)
    body = post(logged_in_client, {choice.id: picked}, HTTP_ACCEPT_LANGUAGE="ko").json()
    item = next(i for i in body["feedback"] if i["id"] == choice.id)
    assert item["correct"] is False
    assert item["choice_explanation"] == choice.choice_explanations[picked]["ko"]
    assert item["explanation"] == choice.explanation["ko"]
    assert body["score"] == 0  # the others were not answered


def test_anonymous_visitors_are_graded_but_nothing_is_stored(client: Client) -> None:
    body = post(client, RIGHT).json()
    assert body["score"] == 5 and body["saved"] is False
    assert body["best_score"] is None
    assert QuizScore.objects.count() == 0 and LessonProgress.objects.count() == 0


def test_scores_are_per_student(
    logged_in_client: Client, other_client: Client, user, other_user
) -> None:
    post(logged_in_client, RIGHT)
    post(other_client, wrong(5))
    assert QuizScore.objects.get(user=user).best_score == 5
    assert QuizScore.objects.get(user=other_user).best_score == 0


@pytest.mark.parametrize(
    "raw",
    [
        '{"answers": {"q1": NaN}}',
        '{"answers": {"q1": Infinity}}',
        '{"answers": {"q1": 1e999}}',
        '{"answers": {"q1": "1e99999"}}',
        '{"answers": {"q1": "' + "9" * 100 + '"}}',
        '{"answers": {"q1": ' + "9" * 5000 + "}}",
        '{"answers": {"q1": true}}',
        '{"answers": {"q4": 7}}',
        '{"answers": {"nope": 1}}',
        '{"answers": [1, 2]}',
        '{"answers": "all"}',
        "{}",
        "not json",
    ],
)
def test_hostile_or_malformed_answers_are_a_400_and_store_nothing(
    logged_in_client: Client, raw: str
) -> None:
    response = logged_in_client.post(URL, raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert QuizScore.objects.count() == 0


def test_too_many_answer_ids_are_refused(logged_in_client: Client) -> None:
    response = post(logged_in_client, {f"q{i}": 1 for i in range(50)})
    assert response.status_code == 400


def test_an_unknown_lesson_has_no_quiz(client: Client) -> None:
    assert client.get("/api/v1/lessons/nope/quiz/").status_code == 404
    assert post(client, {}, url="/api/v1/lessons/nope/quiz/").status_code == 404


def test_a_session_post_needs_the_csrf_token(user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert post(client, RIGHT).status_code == 403
    assert QuizScore.objects.count() == 0


# --- Where the scores show ---------------------------------------------------------


def test_each_lesson_page_has_the_quiz_form_with_its_api_url(client: Client) -> None:
    html = client.get("/lessons/how-login-works/").content.decode()
    assert 'data-widget="lesson-quiz"' in html
    assert 'data-api="/api/v1/lessons/how-login-works/quiz/"' in html
    assert "/static/js/lesson-quiz.js" in html
    assert html.index("/static/js/widget-kit.js") < html.index("js/lesson-quiz.js")
    assert 'data-testid="quiz-anonymous"' in html


def test_the_lesson_page_list_and_profile_show_the_best_score(
    logged_in_client: Client,
) -> None:
    post(logged_in_client, wrong(3))
    post(logged_in_client, wrong(1))
    detail = logged_in_client.get("/lessons/stride-padding/").content.decode()
    best = detail.split('data-testid="quiz-best"')[1][:80]
    assert "4/5" in best and "2 attempts" in best
    listing = logged_in_client.get("/lessons/").content.decode()
    assert 'data-testid="quiz-stride-padding">Quiz 4/5' in listing
    assert 'data-testid="quiz-convolution"' not in listing
    assert 'data-testid="done-stride-padding"' in listing  # 4 of 5 passed
    profile = logged_in_client.get("/accounts/profile/").content.decode()
    scores = profile.split('data-testid="quiz-scores"')[1]
    assert 'data-testid="score-stride-padding">4/5<' in scores


def test_korean_pages_show_the_quiz_in_korean(logged_in_client: Client) -> None:
    post(logged_in_client, RIGHT)
    html = logged_in_client.get(
        "/lessons/stride-padding/", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert "최고 점수 5/5" in html
    listing = logged_in_client.get("/lessons/", HTTP_ACCEPT_LANGUAGE="ko").content
    assert "퀴즈 5/5" in listing.decode()


def test_staff_export_every_students_progress_and_scores_as_csv(
    staff_user, user, other_user, logged_in_client: Client, other_client: Client
) -> None:
    post(logged_in_client, RIGHT)
    post(other_client, wrong(5))
    staff_user.is_superuser = True
    staff_user.save()
    admin = Client()
    admin.force_login(staff_user)
    listing = admin.get("/admin/demos/quizscore/")
    assert listing.status_code == 200
    assert "5/5" in listing.content.decode() and "0/5" in listing.content.decode()
    response = admin.post(
        "/admin/demos/quizscore/",
        {
            "action": "export_progress_csv",
            "_selected_action": list(QuizScore.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("username,lesson_order,lesson,done")
    assert len(lines) == 1 + 2 * 15  # every lesson of both students
    alice = [line for line in lines if line.startswith(f"{user.username},2,")]
    bob = [line for line in lines if line.startswith(f"{other_user.username},2,")]
    assert alice[0].split(",")[3] == "yes" and ",5,5,1,yes," in alice[0]
    assert bob[0].split(",")[3] == "no" and ",0,5,1,no," in bob[0]
