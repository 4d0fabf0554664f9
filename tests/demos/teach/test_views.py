"""The class pages at /teach/: staff only, what an instructor sees, adding
students, this week's lesson, a student's page and the CSV export (the Excel
export: test_exports.py)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.html import escape
from django.utils.translation import override

from demos.lessons import quizzes
from demos.models import Lesson, LessonProgress
from demos.teach.questions import choice_id, find_choice_text
from tests.factories import (
    make_demo_run,
    make_exercise_attempt,
    make_quiz_answer,
    make_quiz_score,
    make_user,
)

pytestmark = pytest.mark.django_db


def korean(client: Client) -> Client:
    client.cookies["django_language"] = "ko"
    return client


def test_students_get_403_and_visitors_the_login_page(
    logged_in_client, client, cohort
) -> None:
    assert logged_in_client.get("/teach/").status_code == 403
    url = f"/teach/classes/{cohort.public_id}/"
    assert logged_in_client.get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_another_instructor_gets_403(course, cohort) -> None:
    other = Client()
    other.force_login(make_user(username="t2", is_staff=True))
    assert other.get(f"/teach/classes/{cohort.public_id}/").status_code == 403
    assert other.get(f"/teach/classes/{cohort.public_id}/export.csv").status_code == 403


def test_an_instructor_creates_a_class_from_the_list(teacher_client, instructor):
    response = teacher_client.post(
        "/teach/", {"name": "CNN 3기", "term": "가을"}, follow=True
    )
    cohort = instructor.taught_cohorts.get()
    assert response.redirect_chain[-1][0] == f"/teach/classes/{cohort.public_id}/"
    body = response.content.decode()
    assert cohort.join_code in body
    assert f"/accounts/classes/join/?code={cohort.join_code}" in body
    listing = teacher_client.get("/teach/").content.decode()
    assert "CNN 3기" in listing


def test_the_class_page_shows_grid_items_exercise_in_korean(
    course, teacher_client, cohort, students
) -> None:
    minji, jisoo, hyun = students
    conv = Lesson.objects.get(slug="convolution")
    LessonProgress.objects.create(user=minji, lesson=conv)
    make_quiz_score(user=minji, lesson=conv, best_score=3, total=4, attempts=2)
    quiz = quizzes.read_quiz(quizzes.QUIZZES_DIR, "convolution")
    q2 = next(q for q in quiz.questions if q.id == "q2")
    for student in (minji, jisoo):
        make_quiz_answer(
            user=student,
            lesson=conv,
            question="q2",
            choice=choice_id(q2.choices[2], 2),
            is_correct=False,
        )
    make_exercise_attempt(user=jisoo, diagnosis="xy-order")
    make_demo_run(owner=hyun)
    response = korean(teacher_client).get(f"/teach/classes/{cohort.public_id}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="row-minji"' in body
    assert "3/4" in body and "×2" in body
    wrong_text = find_choice_text(q2.choices, choice_id(q2.choices[2], 2), "ko")
    assert escape(wrong_text)[:40] in body  # the top wrong choice's text
    assert "0%" in body
    assert "x and y are swapped" not in body  # the diagnosis is in Korean
    assert "학생 × 강의" in body


def test_the_stuck_filter_keeps_only_stuck_students(
    course, teacher_client, cohort, students
) -> None:
    minji = students[0]
    make_quiz_answer(user=minji, lesson=Lesson.objects.get(slug="pooling"))
    body = teacher_client.get(
        f"/teach/classes/{cohort.public_id}/?stuck=1&days=7"
    ).content.decode()
    assert 'data-testid="row-jisoo"' in body
    assert 'data-testid="row-minji"' not in body


def test_sorting_by_done_puts_the_furthest_first(
    course, teacher_client, cohort, students
) -> None:
    hyun = students[2]
    LessonProgress.objects.create(user=hyun, lesson=Lesson.objects.first())
    body = teacher_client.get(
        f"/teach/classes/{cohort.public_id}/?sort=-done"
    ).content.decode()
    assert body.index('data-testid="row-hyun"') < body.index('data-testid="row-jisoo"')


# session, user, class, instructor check, grid 4, items 3, exercise 2, detectors 2
PAGE_QUERIES = 15


def test_the_class_page_for_60_students_takes_15_queries(
    class_of_60, teacher_client, cohort, django_assert_max_num_queries
) -> None:
    url = f"/teach/classes/{cohort.public_id}/"
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = teacher_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="row-s') == 60


def test_instructors_add_students_typed_and_from_csv(
    course, teacher_client, cohort
) -> None:
    make_user(username="sora", email="sora@example.com")
    make_user(username="dami", email="dami@example.com")
    upload = SimpleUploadedFile(
        "class.csv", b"email\ndami@example.com\nghost@example.com\n"
    )
    response = teacher_client.post(
        f"/teach/classes/{cohort.public_id}/students/add/",
        {"names": "sora, nobody", "csv_file": upload},
        follow=True,
    )
    body = response.content.decode()
    assert set(cohort.students.values_list("username", flat=True)) == {"sora", "dami"}
    assert "nobody" in body and "ghost@example.com" in body


def test_adding_nothing_says_what_to_do(course, teacher_client, cohort) -> None:
    with override("en"):
        response = teacher_client.post(
            f"/teach/classes/{cohort.public_id}/students/add/",
            {"names": " "},
            follow=True,
        )
    assert "Type at least one username" in response.content.decode()


def test_this_week_lesson_shows_on_the_students_lesson_list(
    course, teacher_client, cohort, students
) -> None:
    teacher_client.post(
        f"/teach/classes/{cohort.public_id}/this-week/", {"lesson": "pooling"}
    )
    cohort.refresh_from_db()
    assert cohort.this_week_lesson == "pooling"
    student = Client()
    student.force_login(students[0])
    body = korean(student).get("/lessons/").content.decode()
    assert "CNN 1기" in body
    assert 'data-testid="this-week-pooling"' in body


def test_an_unknown_lesson_is_not_saved_as_this_week(
    course, teacher_client, cohort
) -> None:
    teacher_client.post(
        f"/teach/classes/{cohort.public_id}/this-week/", {"lesson": "nope"}
    )
    cohort.refresh_from_db()
    assert cohort.this_week_lesson == ""


def test_a_students_page_shows_answers_attempts_and_runs_not_permissions(
    course, teacher_client, cohort, students
) -> None:
    minji = students[0]
    conv = Lesson.objects.get(slug="convolution")
    make_quiz_answer(user=minji, lesson=conv, question="q1", answer_text="27")
    make_exercise_attempt(user=minji, passed=True)
    make_demo_run(owner=minji, original_name="class-photo.jpg")
    response = korean(teacher_client).get(
        f"/teach/classes/{cohort.public_id}/students/minji/"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "class-photo.jpg" in body
    assert "27" in body
    assert 'data-testid="student-exercise"' in body
    assert "permission" not in body.lower() and "권한" not in body


def test_a_non_member_has_no_student_page(course, teacher_client, cohort) -> None:
    make_user(username="outsider")
    url = f"/teach/classes/{cohort.public_id}/students/outsider/"
    assert teacher_client.get(url).status_code == 404


def test_the_csv_export_uses_the_class_time_zone(
    course, teacher_client, cohort, students
) -> None:
    minji = students[0]
    conv = Lesson.objects.get(slug="convolution")
    mark = LessonProgress.objects.create(user=minji, lesson=conv)
    LessonProgress.objects.filter(pk=mark.pk).update(
        completed_at=datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    )
    response = teacher_client.get(f"/teach/classes/{cohort.public_id}/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 3 * 15
    row = next(
        r for r in rows if r["username"] == "minji" and r["lesson"] == "convolution"
    )
    assert row["done"] == "yes"
    assert row["done_at"] == "2026-03-03T00:30:00+09:00"  # Seoul, UTC+9


def test_an_instructor_removes_a_student_and_keeps_their_work(
    course, teacher_client, cohort, students
) -> None:
    minji = students[0]
    make_quiz_answer(user=minji, lesson=Lesson.objects.get(slug="pooling"))
    url = f"/teach/classes/{cohort.public_id}/students/minji/remove/"
    assert teacher_client.get(url).status_code == 405
    response = teacher_client.post(url, follow=True)
    assert 'data-testid="row-minji"' not in response.content.decode()
    assert minji.quiz_answers.count() == 1
    assert not cohort.students.filter(pk=minji.pk).exists()


def test_staff_see_the_classes_link_students_do_not(
    teacher_client, logged_in_client
) -> None:
    assert 'href="/teach/"' in teacher_client.get("/lessons/").content.decode()
    assert 'href="/teach/"' not in logged_in_client.get("/lessons/").content.decode()


def test_the_exercise_is_named_and_unknown_steps_shown_as_stored(
    course, teacher_client, cohort, students
) -> None:
    make_exercise_attempt(user=students[0], step="pasted-output", diagnosis="xy-order")
    make_exercise_attempt(user=students[1], exercise="new-exercise", step="s1")
    body = korean(teacher_client).get(f"/teach/classes/{cohort.public_id}/").content
    text = body.decode()
    assert "사람 한 명씩 출력하기(10강) · 출력 결과 채점" in text
    assert "new-exercise · s1" in text
