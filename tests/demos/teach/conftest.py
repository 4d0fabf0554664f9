"""A loaded course, an instructor with a class and three students in it."""

from __future__ import annotations

import pytest
from django.test import Client

from demos.lessons.services import load_lessons
from tests.factories import make_cohort, make_student_in, make_user


@pytest.fixture
def course(db) -> None:
    load_lessons()


@pytest.fixture
def instructor(db):
    return make_user(username="teacher", is_staff=True, display_name="김 강사")


@pytest.fixture
def cohort(instructor):
    return make_cohort(instructor=instructor, name="CNN 1기", term="2026 봄")


@pytest.fixture
def students(cohort) -> list:
    """Three students who joined a month ago (the class is under way)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import CohortMembership

    people = [
        make_student_in(cohort, username=name, email=f"{name}@example.com")
        for name in ("minji", "jisoo", "hyun")
    ]
    CohortMembership.objects.filter(cohort=cohort).update(
        joined=timezone.now() - timedelta(days=30)
    )
    return people


@pytest.fixture
def teacher_client(instructor) -> Client:
    client = Client()
    client.force_login(instructor)
    return client


@pytest.fixture
def class_of_60(course, cohort) -> None:
    """60 students in ``cohort``, 10 lessons done each, every quiz tried twice and
    one answer per quiz: a full bootcamp class, in bulk."""
    from django.utils import timezone

    from accounts.models import CohortMembership, User
    from demos.models import Lesson, LessonProgress, QuizAnswer, QuizScore

    lessons = list(Lesson.objects.order_by("order"))
    users = User.objects.bulk_create(
        User(username=f"s{i:02d}", password="!") for i in range(60)
    )
    CohortMembership.objects.bulk_create(
        CohortMembership(cohort=cohort, student=u) for u in users
    )
    now = timezone.now()
    LessonProgress.objects.bulk_create(
        LessonProgress(user=u, lesson=item) for u in users for item in lessons[:10]
    )
    QuizScore.objects.bulk_create(
        QuizScore(
            user=u,
            lesson=item,
            best_score=3,
            last_score=3,
            total=5,
            attempts=2,
            best_at=now,
        )
        for u in users
        for item in lessons
    )
    QuizAnswer.objects.bulk_create(
        QuizAnswer(
            user=u,
            lesson=item,
            attempt=1,
            question="q1",
            is_correct=i % 3 == 0,
            answer_text="7",
        )
        for i, u in enumerate(users)
        for item in lessons
    )
