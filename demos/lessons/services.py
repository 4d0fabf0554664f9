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

from demos.lessons import formulas, quizzes
from demos.lessons.loading import LessonFormatError, LessonSource, discover_lessons
from demos.lessons.selectors import KATEX_DIR
from demos.models import Lesson, LessonProgress, QuizAnswer, QuizScore

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


def check_formulas(sources: list[LessonSource]) -> None:
    """Typeset every formula of the course once: TeX that KaTeX rejects stops the
    load, naming the lesson; without KaTeX (not installed yet) only a warning."""
    for source in sources:
        for lang, text in source.texts.items():
            try:
                formulas.render(formulas.extract(text.body)[1], katex=KATEX_DIR)
            except formulas.KatexUnavailable as exc:
                logger.warning("Lesson formulas not checked: %s", exc)
                return
            except formulas.MathError as exc:
                raise LessonFormatError(f"{source.slug} ({lang}): {exc}") from exc


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
    check_formulas(sources)
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
    *,
    user: AbstractBaseUser,
    lesson: Lesson,
    score: int,
    total: int,
    passed: bool,
    feedback: tuple[quizzes.Feedback, ...] = (),
) -> QuizScore:
    """Keep the best score (and count the attempt), store one ``QuizAnswer`` per
    question of this attempt; passing marks the lesson done."""
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
    answers = [_quiz_answer(user, lesson, row.attempts, item) for item in feedback]
    for answer in answers:
        answer.full_clean(validate_constraints=False)
    QuizAnswer.objects.bulk_create(answers)
    if passed:
        mark_lesson_done(user=user, lesson=lesson)
    return row


def _quiz_answer(
    user: AbstractBaseUser, lesson: Lesson, attempt: int, item: quizzes.Feedback
) -> QuizAnswer:
    """One row per question: the choice id picked, or the text as sent (a number,
    an unreadable answer); a skipped question keeps neither."""
    return QuizAnswer(
        user=user,
        lesson=lesson,
        attempt=attempt,
        question=item.id,
        choice=item.choice,
        answer_text=item.answer_text,
        is_correct=item.correct,
    )


def submit_quiz(
    *,
    user: AbstractBaseUser | AnonymousUser,
    lesson: Lesson,
    answers: object,
    lang: str,
) -> QuizOutcome:
    """Grade ``answers`` against the lesson's quiz; for a student, store the score
    and every answer (one transaction)."""
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
        feedback=grade.feedback,
    )
    return QuizOutcome(grade, saved=True, best_score=row.best_score)
