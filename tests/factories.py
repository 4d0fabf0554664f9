"""Plain ``make_<model>(**overrides)`` functions for tests."""

from __future__ import annotations

from typing import Any

from accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery-9"


def make_user(**overrides: Any) -> User:
    password = overrides.pop("password", DEFAULT_PASSWORD)
    fields = {"username": "student", "email": "", "display_name": ""} | overrides
    user = User(**fields)
    user.set_password(password)
    user.save()
    return user


def make_api_token(user: User) -> str:
    """A fresh API token for ``user`` (knox keeps its digest; this is the secret)."""
    from knox.models import AuthToken

    _instance, token = AuthToken.objects.create(user)
    return token


def make_cohort(*, instructor: User | None = None, **overrides: Any) -> Any:
    """A class through the real service (so it gets a join code), taught by
    ``instructor`` (a new staff user "teacher" if none)."""
    from accounts.services import create_cohort

    if instructor is None:
        instructor = make_user(username="teacher", is_staff=True)
    fields = {"name": "CNN 1기", "term": "2026 봄"} | overrides
    return create_cohort(instructor=instructor, **fields)


def make_student_in(cohort: Any, **overrides: Any) -> User:
    from accounts.models import CohortMembership

    student = make_user(**overrides)
    CohortMembership.objects.create(cohort=cohort, student=student)
    return student


def make_quiz_answer(**overrides: Any) -> Any:
    """One ``QuizAnswer``; needs ``user`` and ``lesson``."""
    from demos.models import QuizAnswer

    fields = {"attempt": 1, "question": "q1", "is_correct": True} | overrides
    return QuizAnswer.objects.create(**fields)


def make_quiz_score(**overrides: Any) -> Any:
    """One ``QuizScore``; needs ``user`` and ``lesson``."""
    from django.utils import timezone

    from demos.models import QuizScore

    fields = {
        "best_score": 3,
        "last_score": 3,
        "total": 4,
        "attempts": 1,
        "passed": True,
        "best_at": timezone.now(),
    } | overrides
    return QuizScore.objects.create(**fields)


def make_exercise_attempt(**overrides: Any) -> Any:
    """One ``ExerciseAttempt``; needs ``user``."""
    from demos.models import ExerciseAttempt

    fields = {"exercise": "people-one-by-one", "step": "", "passed": False} | overrides
    return ExerciseAttempt.objects.create(**fields)


def make_demo_run(**overrides: Any) -> Any:
    """One ``DemoRun`` row (no files); needs ``owner``."""
    from demos.models import DemoRun

    fields = {
        "detector": "hog",
        "score_threshold": 0.5,
        "image_path": "runs/x/photo.jpg",
        "thumbnail_path": "runs/x/thumb.jpg",
        "image_sha256": "0" * 64,
        "image_width": 640,
        "image_height": 480,
        "elapsed_ms": 12.0,
    } | overrides
    return DemoRun.objects.create(**fields)


def make_detection(*, run: Any, box: list[int], **overrides: Any) -> Any:
    """One ``Detection`` of ``run`` at ``box`` = [x1, y1, x2, y2]; the next rank."""
    from demos.models import Detection

    x1, y1, x2, y2 = box
    fields = {
        "rank": run.detections.count() + 1,
        "score": 0.9,
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
    } | overrides
    return Detection.objects.create(run=run, **fields)
