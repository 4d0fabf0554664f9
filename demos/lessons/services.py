"""Writes for the lessons (load the Markdown course, mark lessons done) and the
server-side computations of the lesson widgets (kernel playground, output size,
pooling, NMS).

The widget functions only read sample photos or an upload and return plain
dataclasses; the arithmetic itself lives in the pure ``demos.ml.playgrounds``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from demos.lessons import exercise, quizzes
from demos.lessons.loading import LessonFormatError, LessonSource, discover_lessons
from demos.models import DemoRun, Lesson, LessonProgress, QuizScore
from demos.people.selectors import persons_above

logger = logging.getLogger(__name__)

LESSONS_DIR = Path(__file__).resolve().parent / "content"

# --- Loading the course ----------------------------------------------------------

FIELDS = (
    "order",
    "widget",
    "title_en",
    "title_ko",
    "summary_en",
    "summary_ko",
    "body_en",
    "body_ko",
)


@dataclass
class LoadReport:
    """What ``load_lessons`` did (or would do, in a dry run), by slug."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # in the database, not in the files
    removed: list[str] = field(default_factory=list)


def _values(source: LessonSource) -> dict[str, object]:
    en, ko = source.text("en"), source.text("ko")
    return {
        "order": source.order,
        "widget": source.widget,
        "title_en": en.title,
        "title_ko": ko.title,
        "summary_en": en.summary,
        "summary_ko": ko.summary,
        "body_en": en.body,
        "body_ko": ko.body,
    }


@transaction.atomic
def load_lessons(
    *, directory: Path = LESSONS_DIR, prune: bool = False, dry_run: bool = False
) -> LoadReport:
    """Upsert every lesson in ``directory`` by slug; safe to run again and again.

    Changed text is updated; identical lessons are left untouched (their
    ``updated`` time does not move). Lessons in the database but no longer in
    the files are kept, with their students' progress, and moved after the
    course; only ``prune=True`` deletes them (and that progress). ``dry_run``
    reports the same counts and rolls everything back.
    """
    sources = discover_lessons(directory)
    for source in sources:  # a broken quiz stops the load like a broken lesson
        try:
            quizzes.read_quiz(directory / "quizzes", source.slug)
        except quizzes.QuizFormatError as exc:
            raise LessonFormatError(str(exc)) from exc
    by_slug = {source.slug: source for source in sources}
    existing = {lesson.slug: lesson for lesson in Lesson.objects.select_for_update()}
    report = LoadReport()

    # Orders are unique: park every lesson whose order changes (or that blocks
    # an order the files need) above all orders in use before assigning any.
    wanted = {source.order for source in sources}
    top = max([*wanted, *(lesson.order for lesson in existing.values()), 0]) + 1
    parking = [
        lesson
        for slug, lesson in existing.items()
        if (slug in by_slug and by_slug[slug].order != lesson.order)
        or (slug not in by_slug and lesson.order in wanted)
    ]
    for offset, lesson in enumerate(parking):
        # update() skips auto_now: parking alone does not count as an edit.
        Lesson.objects.filter(pk=lesson.pk).update(order=top + offset)
        lesson.order = top + offset

    for source in sources:
        values = _values(source)
        lesson = existing.get(source.slug)
        if lesson is None:
            lesson = Lesson(slug=source.slug, **values)
            lesson.full_clean()
            lesson.save()
            report.created.append(source.slug)
        elif any(getattr(lesson, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(lesson, name, value)
            lesson.full_clean()
            lesson.save()
            report.updated.append(source.slug)
        else:
            report.unchanged.append(source.slug)

    for slug, lesson in existing.items():
        if slug in by_slug:
            continue
        if prune:
            lesson.delete()
            report.removed.append(slug)
        else:
            report.kept.append(slug)

    if dry_run:
        transaction.set_rollback(True)
    return report


# --- Progress ------------------------------------------------------------------


@transaction.atomic
def mark_lesson_done(*, user: AbstractBaseUser, lesson: Lesson) -> LessonProgress:
    """Record that ``user`` finished ``lesson``; marking twice changes nothing."""
    progress, _created = LessonProgress.objects.get_or_create(user=user, lesson=lesson)
    return progress


@transaction.atomic
def unmark_lesson_done(*, user: AbstractBaseUser, lesson: Lesson) -> bool:
    """Remove the mark; returns whether there was one."""
    deleted, _by_model = LessonProgress.objects.filter(
        user=user, lesson=lesson
    ).delete()
    return deleted > 0


def set_lesson_done(*, user: AbstractBaseUser, lesson: Lesson, done: bool) -> bool:
    """Mark or unmark; returns the new state."""
    if done:
        mark_lesson_done(user=user, lesson=lesson)
    else:
        unmark_lesson_done(user=user, lesson=lesson)
    return done


# --- Quizzes -------------------------------------------------------------------


@dataclass(frozen=True)
class QuizOutcome:
    grade: quizzes.Grade
    saved: bool  # False for anonymous visitors: graded, not stored
    best_score: int | None


@transaction.atomic
def record_quiz_score(
    *, user: AbstractBaseUser, lesson: Lesson, score: int, total: int, passed: bool
) -> QuizScore:
    """Keep the best score (and count the attempt); passing marks the lesson done."""
    now = timezone.now()
    row = QuizScore.objects.select_for_update().filter(user=user, lesson=lesson).first()
    if row is None:
        row = QuizScore(
            user=user,
            lesson=lesson,
            best_score=score,
            last_score=score,
            total=total,
            attempts=1,
            passed=passed,
            best_at=now,
        )
    else:
        row.attempts += 1
        row.last_score = score
        if total != row.total or score > row.best_score:
            # A better score, or a quiz that changed size: this one is the best.
            row.best_score, row.total, row.best_at = score, total, now
        row.passed = row.passed or passed
    row.full_clean()
    row.save()
    if passed:
        mark_lesson_done(user=user, lesson=lesson)
    return row


def submit_quiz(
    *,
    user: AbstractBaseUser | AnonymousUser,
    lesson: Lesson,
    answers: object,
    lang: str,
) -> QuizOutcome:
    """Grade ``answers`` against the lesson's quiz; store the score for a student."""
    quiz = quizzes.read_quiz(quizzes.QUIZZES_DIR, lesson.slug)
    if quiz is None:
        raise quizzes.InvalidAnswers(_("This lesson has no quiz."))
    grade = quizzes.grade(quiz, answers, lang)
    if not user.is_authenticated:
        return QuizOutcome(grade, saved=False, best_score=None)
    row = record_quiz_score(
        user=user,
        lesson=lesson,
        score=grade.score,
        total=grade.total,
        passed=grade.passed,
    )
    return QuizOutcome(grade, saved=True, best_score=row.best_score)


# --- Widget inputs -----------------------------------------------------------------


# --- Lesson 1: kernel playground -------------------------------------------------


# --- Lesson 2: output size ----------------------------------------------------------


# --- Lesson 3: pooling ---------------------------------------------------------


# --- Lesson 10: NMS on real detector boxes -------------------------------------


# --- Lesson 14: computer-vision tasks and YOLOv1 --------------------------------


# --- Lesson 10: the "every person one by one" exercise -----------------------------

EXERCISE_PROBLEMS = {
    "missing": gettext_lazy("Not printed: this person is missing from your output."),
    "extra": gettext_lazy("The demo has no person with this number."),
    "no-box": gettext_lazy("No box (x1, y1, x2, y2) on this line."),
    "no-crop": gettext_lazy("No crop shape on this line: print crop.shape."),
    "xy-order": gettext_lazy(
        "x and y are swapped: a numpy image is img[y1:y2, x1:x2] (rows first), "
        "and its shape is (height, width, 3)."
    ),
    "int-casts": gettext_lazy(
        "Not whole pixels: round with np.rint and cast with int() before slicing."
    ),
    "clipping": gettext_lazy(
        "Outside the image: clip x to [0, width] and y to [0, height] first "
        "(a negative index counts from the end)."
    ),
    "sort-order": gettext_lazy(
        "This is another person's box: sort left to right by x1 (then y1), as the "
        "demo numbers them."
    ),
    "wrong-box": gettext_lazy("This box is not the demo's box for this person."),
    "crop-size": gettext_lazy(
        "The crop's size is not the box's size (y2 - y1, x2 - x1)."
    ),
    "threshold-low-count": gettext_lazy(
        "You printed fewer people than the demo shows: keep score >= the run's "
        "threshold (at or above, not above)."
    ),
    "threshold-high-count": gettext_lazy(
        "You printed more people than the demo shows: use the same threshold as "
        "the run."
    ),
}


def check_people_exercise(*, run: DemoRun, output: str) -> dict:
    """Hold a student's printout against the run's persons at its threshold."""
    expected = [(d.x1, d.y1, d.x2, d.y2) for d in persons_above(run)]
    report = exercise.check_people(
        exercise.parse_printed_people(output),
        expected,
        width=run.image_width,
        height=run.image_height,
    )
    return {
        "run": str(run.public_id),
        "threshold": run.score_threshold,
        "width": run.image_width,
        "height": run.image_height,
        "passed": report.passed,
        "expected_count": report.expected_count,
        "printed_count": report.printed_count,
        "problems": [
            {"key": key, "text": str(EXERCISE_PROBLEMS[key])} for key in report.problems
        ],
        "people": [
            {
                "number": check.number,
                "ok": check.ok,
                "expected_box": check.expected_box,
                "expected_crop": check.expected_crop,
                "printed_box": check.printed_box,
                "printed_crop": check.printed_crop,
                "problems": [
                    {"key": key, "text": str(EXERCISE_PROBLEMS[key])}
                    for key in check.problems
                ],
            }
            for check in report.people
        ],
    }
