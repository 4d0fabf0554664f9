"""The class API: staff create and list their classes, read progress and quiz
items; students and other instructors get 403."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from demos.models import Lesson, LessonProgress
from tests.factories import (
    make_cohort,
    make_quiz_answer,
    make_quiz_score,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher_api(instructor) -> APIClient:
    client = APIClient()
    client.force_login(instructor)
    return client


def test_an_instructor_creates_a_class_and_gets_its_code(teacher_api, instructor):
    response = teacher_api.post("/api/v1/classes/", {"name": "CNN 2기"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "join_code"}
    assert len(body["join_code"]) == 6
    assert instructor.taught_cohorts.get().name == "CNN 2기"


def test_a_class_needs_a_name(teacher_api) -> None:
    response = teacher_api.post("/api/v1/classes/", {"name": ""}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()


def test_a_bad_time_zone_is_a_400(teacher_api) -> None:
    response = teacher_api.post(
        "/api/v1/classes/", {"name": "x", "time_zone": "Nowhere/City"}, format="json"
    )
    assert response.status_code == 400
    assert "Nowhere/City" in response.json()["detail"]


def test_instructors_list_only_their_own_classes(teacher_api, cohort, students):
    make_cohort(instructor=make_user(username="t2", is_staff=True), name="Other")
    body = teacher_api.get("/api/v1/classes/").json()
    assert [(c["name"], c["student_count"]) for c in body] == [("CNN 1기", 3)]


def test_a_superuser_lists_every_class(cohort) -> None:
    make_cohort(instructor=make_user(username="t2", is_staff=True), name="Other")
    root = APIClient()
    root.force_login(make_user(username="root", is_staff=True, is_superuser=True))
    names = {c["name"] for c in root.get("/api/v1/classes/").json()}
    assert names == {"CNN 1기", "Other"}


def test_progress_has_every_student_and_lesson(
    course, teacher_api, cohort, students
) -> None:
    minji = students[0]
    conv = Lesson.objects.get(slug="convolution")
    LessonProgress.objects.create(user=minji, lesson=conv)
    make_quiz_score(user=minji, lesson=conv, best_score=4, total=4, attempts=2)
    response = teacher_api.get(f"/api/v1/classes/{cohort.public_id}/progress/")
    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()["students"]}
    assert set(rows) == {"minji", "jisoo", "hyun"}
    assert len(rows["minji"]["lessons"]) == 15
    assert rows["minji"]["lessons"]["convolution"] == {
        "done": True,
        "best_score": 4,
        "total": 4,
        "attempts": 2,
    }
    assert rows["jisoo"]["lessons"]["convolution"] == {
        "done": False,
        "best_score": None,
        "total": None,
        "attempts": 0,
    }
    assert rows["minji"]["last_active"] is not None
    assert rows["jisoo"]["stuck"] == ["idle"]


def test_quiz_items_give_the_rate_and_the_top_wrong_answer(
    course, teacher_api, cohort, students
) -> None:
    conv = Lesson.objects.get(slug="convolution")
    for student, typed, right in zip(
        students, ["5", "5", "3"], [False, False, True], strict=True
    ):
        make_quiz_answer(
            user=student,
            lesson=conv,
            question="q1",
            answer_text=typed,
            is_correct=right,
        )
    response = teacher_api.get(f"/api/v1/classes/{cohort.public_id}/quiz-items/")
    assert response.status_code == 200
    [row] = response.json()
    assert row["lesson"] == "convolution"
    assert row["question"] == "q1"
    assert row["attempts"] == 3
    assert row["correct_rate"] == pytest.approx(0.333)
    assert row["top_wrong"] == {"choice": "", "text": "5", "count": 2}


def test_students_get_403_on_the_class_api(api, cohort) -> None:
    assert api.get("/api/v1/classes/").status_code == 403
    assert api.post("/api/v1/classes/", {"name": "x"}).status_code == 403
    for part in ("progress", "quiz-items"):
        url = f"/api/v1/classes/{cohort.public_id}/{part}/"
        assert api.get(url).status_code == 403


def test_another_instructor_gets_403_for_a_class_not_theirs(course, cohort) -> None:
    other = APIClient()
    other.force_login(make_user(username="t2", is_staff=True))
    for part in ("progress", "quiz-items"):
        url = f"/api/v1/classes/{cohort.public_id}/{part}/"
        assert other.get(url).status_code == 403


def test_an_unknown_class_is_404(teacher_api) -> None:
    url = "/api/v1/classes/00000000-0000-0000-0000-000000000000/progress/"
    assert teacher_api.get(url).status_code == 404


def test_anonymous_callers_get_401() -> None:
    assert APIClient().get("/api/v1/classes/").status_code == 401


def test_the_schema_documents_the_class_api(client) -> None:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/classes/",
        "/api/v1/classes/join/",
        "/api/v1/classes/{public_id}/progress/",
        "/api/v1/classes/{public_id}/quiz-items/",
    ):
        assert path in paths
