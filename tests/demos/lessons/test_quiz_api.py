"""/api/v1/lessons/<slug>/quiz/: questions without answers, server-side grading,
best scores kept per student, "done" granted by passing."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from demos.lessons.quizzes import QUIZZES_DIR, pass_mark, read_quiz
from demos.lessons.services import load_lessons
from demos.models import LessonProgress, QuizAnswer, QuizScore

pytestmark = pytest.mark.django_db

URL = "/api/v1/lessons/stride-padding/quiz/"
QUIZ = read_quiz(QUIZZES_DIR, "stride-padding")
TOTAL, PASS = QUIZ.total, pass_mark(QUIZ.total)  # 6 questions, pass mark 4
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
            wrong_choice(question)
            if question.kind == "choice"
            else question.answer + 1000
        )
    return answers


def wrong_choice(question) -> str:
    return next(c.id for c in question.choices if c.id != question.answer)


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
    question = next(q for q in QUIZ.questions if q.kind == "choice")
    sent = next(q for q in korean["questions"] if q["id"] == question.id)
    assert sorted(sent["choices"], key=lambda c: c["id"]) == [
        {"id": c.id, "text": c.text["ko"]} for c in question.choices
    ]


def test_the_choices_come_in_a_new_order_for_each_attempt(client: Client) -> None:
    question = next(q for q in QUIZ.questions if q.kind == "choice")
    orders = set()
    for _ in range(12):  # 4 choices: 12 equal orders happen once in 24**11
        body = client.get(URL).json()
        sent = next(q for q in body["questions"] if q["id"] == question.id)
        orders.add(tuple(c["id"] for c in sent["choices"]))
    assert len(orders) > 1
    assert all(
        sorted(order) == sorted(c.id for c in question.choices) for order in orders
    )


def test_full_marks_pass_store_the_score_and_mark_the_lesson_done(
    logged_in_client: Client, user
) -> None:
    response = post(logged_in_client, RIGHT)
    assert response.status_code == 200
    body = response.json()
    assert (body["score"], body["total"], body["passed"]) == (TOTAL, TOTAL, True)
    assert body["saved"] is True and body["best_score"] == TOTAL
    assert all(item["correct"] for item in body["feedback"])
    assert {item["id"] for item in body["feedback"]} == set(RIGHT)
    assert all(item["explanation"] for item in body["feedback"])
    row = QuizScore.objects.get(user=user, lesson__slug="stride-padding")
    assert (row.best_score, row.total, row.attempts, row.passed) == (
        TOTAL,
        TOTAL,
        1,
        True,
    )
    assert LessonProgress.objects.filter(user=user, lesson__slug="stride-padding")


def test_every_answer_is_stored_per_question_and_attempt(
    logged_in_client: Client, user
) -> None:
    choice = next(q for q in QUIZ.questions if q.kind == "choice")
    number = next(q for q in QUIZ.questions if q.kind == "number")
    post(logged_in_client, {choice.id: wrong_choice(choice), number.id: "1,000"})
    post(logged_in_client, RIGHT)
    rows = QuizAnswer.objects.filter(user=user, lesson__slug="stride-padding")
    assert rows.count() == 2 * TOTAL  # one per question, skipped ones included
    first = {row.question: row for row in rows.filter(attempt=1)}
    assert (first[choice.id].choice, first[choice.id].is_correct) == (
        wrong_choice(choice),
        False,
    )
    assert (first[number.id].answer_text, first[number.id].choice) == ("1,000", "")
    skipped = [q.id for q in QUIZ.questions if q.id not in (choice.id, number.id)]
    assert all(
        (first[qid].choice, first[qid].answer_text) == ("", "") for qid in skipped
    )
    second = {row.question: row for row in rows.filter(attempt=2)}
    assert all(row.is_correct for row in second.values())
    assert second[choice.id].choice == choice.answer
    assert QuizScore.objects.get(user=user).attempts == 2


def test_numbers_are_read_the_way_students_write_them(
    logged_in_client: Client,
) -> None:
    quiz = read_quiz(QUIZZES_DIR, "transfer-learning")  # q1: 67,617 parameters
    url = "/api/v1/lessons/transfer-learning/quiz/"
    for typed in ("67617", "67,617", "67 617", "６７６１７", "６７，６１７"):
        body = post(logged_in_client, {"q1": typed}, url=url).json()
        item = next(i for i in body["feedback"] if i["id"] == "q1")
        assert item["correct"] is True, typed
    assert quiz.questions[0].answer == 67617


def test_one_unreadable_answer_is_reported_and_the_rest_graded(
    logged_in_client: Client, user
) -> None:
    number = next(q for q in QUIZ.questions if q.kind == "number")
    answers = dict(RIGHT, **{number.id: "twelve"})
    body = post(logged_in_client, answers, HTTP_ACCEPT_LANGUAGE="ko").json()
    assert body["score"] == TOTAL - 1 and body["passed"] is True
    item = next(i for i in body["feedback"] if i["id"] == number.id)
    assert item["correct"] is False and "'twelve'" in item["error"]
    assert "숫자" in item["error"]  # in the page's language
    assert all(not i["error"] for i in body["feedback"] if i["id"] != number.id)
    stored = QuizAnswer.objects.get(user=user, question=number.id)
    assert (stored.answer_text, stored.is_correct) == ("twelve", False)


def test_a_failed_attempt_keeps_the_best_score_and_does_not_mark_done(
    logged_in_client: Client, user
) -> None:
    first = post(logged_in_client, wrong(TOTAL - PASS + 1)).json()
    assert (first["score"], first["passed"]) == (PASS - 1, False)
    assert not LessonProgress.objects.filter(user=user).exists()
    post(logged_in_client, wrong(TOTAL - PASS))
    worse = post(logged_in_client, wrong(TOTAL)).json()
    assert worse["score"] == 0 and worse["best_score"] == PASS
    row = QuizScore.objects.get(user=user)
    assert (row.best_score, row.last_score, row.attempts) == (PASS, 0, 3)
    assert row.passed is True  # the second attempt passed
    assert LessonProgress.objects.filter(user=user).count() == 1


def test_feedback_explains_the_choice_picked_in_korean(
    logged_in_client: Client,
) -> None:
    choice = next(q for q in QUIZ.questions if q.kind == "choice")
    picked = wrong_choice(choice)
    body = post(logged_in_client, {choice.id: picked}, HTTP_ACCEPT_LANGUAGE="ko").json()
    item = next(i for i in body["feedback"] if i["id"] == choice.id)
    assert item["correct"] is False
    assert item["choice_explanation"] == choice.choice(picked).why["ko"]
    assert item["explanation"] == choice.explanation["ko"]
    assert body["score"] == 0  # the others were not answered


def test_anonymous_visitors_are_graded_but_nothing_is_stored(client: Client) -> None:
    body = post(client, RIGHT).json()
    assert body["score"] == TOTAL and body["saved"] is False
    assert body["best_score"] is None
    assert QuizScore.objects.count() == 0 and LessonProgress.objects.count() == 0
    assert QuizAnswer.objects.count() == 0


def test_scores_are_per_student(
    logged_in_client: Client, other_client: Client, user, other_user
) -> None:
    post(logged_in_client, RIGHT)
    post(other_client, wrong(TOTAL))
    assert QuizScore.objects.get(user=user).best_score == TOTAL
    assert QuizScore.objects.get(user=other_user).best_score == 0


@pytest.mark.parametrize(
    "raw",
    [
        '{"answers": {"q1": "1e99999"}}',
        '{"answers": {"q1": "' + "9" * 100 + '"}}',
        '{"answers": {"q1": true}}',
        '{"answers": {"q1": [4]}}',
        '{"answers": {"q1": "1/0"}}',
        '{"answers": {"q4": 7}}',
        '{"answers": {"q4": "zz"}}',
        '{"answers": {"q4": {"id": "a"}}}',
    ],
)
def test_hostile_answer_values_are_reported_on_their_question(
    logged_in_client: Client, user, raw: str
) -> None:
    response = logged_in_client.post(URL, raw, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    qid = next(iter(json.loads(raw)["answers"]))
    item = next(i for i in body["feedback"] if i["id"] == qid)
    assert item["correct"] is False and item["error"]
    assert body["score"] == 0
    row = QuizAnswer.objects.get(user=user, question=qid)
    assert len(row.answer_text) <= 64 and row.is_correct is False


@pytest.mark.parametrize(
    "raw",
    [
        '{"answers": {"q1": NaN}}',
        '{"answers": {"q1": Infinity}}',
        '{"answers": {"q1": 1e999}}',  # JSON's strict parser: no infinities
        '{"answers": {"q1": ' + "9" * 5000 + "}}",
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
    assert QuizScore.objects.count() == 0 and QuizAnswer.objects.count() == 0


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
    best_text = f"{TOTAL - 1}/{TOTAL}"
    detail = logged_in_client.get("/lessons/stride-padding/").content.decode()
    best = detail.split('data-testid="quiz-best"')[1][:80]
    assert best_text in best and "2 attempts" in best
    listing = logged_in_client.get("/lessons/").content.decode()
    assert f'data-testid="quiz-stride-padding">Quiz {best_text}' in listing
    assert 'data-testid="quiz-convolution"' not in listing
    assert 'data-testid="done-stride-padding"' in listing  # 5 of 6 passed
    profile = logged_in_client.get("/accounts/profile/").content.decode()
    scores = profile.split('data-testid="quiz-scores"')[1]
    assert f'data-testid="score-stride-padding">{best_text}<' in scores


def test_korean_pages_show_the_quiz_in_korean(logged_in_client: Client) -> None:
    post(logged_in_client, RIGHT)
    html = logged_in_client.get(
        "/lessons/stride-padding/", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()
    assert f"최고 점수 {TOTAL}/{TOTAL}" in html
    listing = logged_in_client.get("/lessons/", HTTP_ACCEPT_LANGUAGE="ko").content
    assert f"퀴즈 {TOTAL}/{TOTAL}" in listing.decode()


def test_staff_export_every_students_progress_and_scores_as_csv(
    staff_user, user, other_user, logged_in_client: Client, other_client: Client
) -> None:
    post(logged_in_client, RIGHT)
    post(other_client, wrong(TOTAL))
    staff_user.is_superuser = True
    staff_user.save()
    admin = Client()
    admin.force_login(staff_user)
    listing = admin.get("/admin/demos/quizscore/")
    assert listing.status_code == 200
    assert f"{TOTAL}/{TOTAL}" in listing.content.decode()
    assert f"0/{TOTAL}" in listing.content.decode()
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
    assert alice[0].split(",")[3] == "yes" and f",{TOTAL},{TOTAL},1,yes," in alice[0]
    assert bob[0].split(",")[3] == "no" and f",0,{TOTAL},1,no," in bob[0]
