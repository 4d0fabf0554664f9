"""Reads for the instructor's class pages and the class API: the students × lessons
grid, who is stuck, item analysis of the quizzes, the exercise and the person demo
(the detector's quality on the class's corrected photos: ``detector_quality.py``).

Every function here takes a class the caller already got through
``accounts.selectors.get_cohort_for_instructor`` (which enforces who may see it),
and reads in a fixed number of queries however many students and lessons there
are: per-student facts are aggregated by the database, never fetched in a loop.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from accounts.models import Cohort, CohortMembership, User
from accounts.selectors import class_students
from demos.lessons import quizzes
from demos.models import (
    DemoRun,
    ExerciseAttempt,
    Lesson,
    LessonProgress,
    QuizAnswer,
    QuizScore,
)
from demos.teach.questions import find_choice_text, prompt_text

STUCK_AFTER_FAILS = 3  # a quiz tried this often without passing
DEFAULT_IDLE_DAYS = 7
SORT_KEYS = ("name", "done", "score", "last_active")


def _language() -> str:
    return "ko" if (get_language() or "").startswith("ko") else "en"


# --- The grid --------------------------------------------------------------------


@dataclass(frozen=True)
class LessonCell:
    """One student's state in one lesson."""

    done: bool = False
    done_at: datetime | None = None
    best_score: int | None = None
    total: int | None = None
    attempts: int = 0
    passed: bool = False

    @property
    def is_failing(self) -> bool:
        """Tried the quiz ``STUCK_AFTER_FAILS`` times or more, never passed it."""
        return self.attempts >= STUCK_AFTER_FAILS and not self.passed


EMPTY_CELL = LessonCell()


@dataclass
class StudentRow:
    student: User
    cells: list[LessonCell]  # in course order, one per lesson of the grid
    last_active: datetime | None
    runs: int
    exercise_tries: int
    exercise_passes: int
    stuck: list[str] = field(default_factory=list)  # "idle", "quiz", "exercise"
    failing_lessons: list[str] = field(default_factory=list)  # slugs

    @property
    def done_count(self) -> int:
        return sum(cell.done for cell in self.cells)

    @property
    def score_sum(self) -> int:
        return sum(cell.best_score or 0 for cell in self.cells)


@dataclass
class ClassGrid:
    lessons: list[Lesson]
    rows: list[StudentRow]

    @property
    def stuck_rows(self) -> list[StudentRow]:
        return [row for row in self.rows if row.stuck]


def _latest(model: type, user_field: str, time_field: str) -> Subquery:
    rows = model.objects.filter(**{user_field: OuterRef("pk")})
    return Subquery(
        rows.values(user_field).annotate(latest=Max(time_field)).values("latest")[:1]
    )


def _count(model: type, user_field: str, **conditions: Any) -> Subquery:
    rows = model.objects.filter(**{user_field: OuterRef("pk")}, **conditions)
    return Subquery(rows.values(user_field).annotate(n=Count("pk")).values("n")[:1])


def students_with_activity(students: QuerySet[User]) -> QuerySet[User]:
    """The students with their latest activity of each kind, runs and exercise
    counts, as correlated subqueries: one query for the whole class."""
    return students.annotate(
        last_done=_latest(LessonProgress, "user", "completed_at"),
        last_answer=_latest(QuizAnswer, "user", "created"),
        last_best=_latest(QuizScore, "user", "best_at"),
        last_exercise=_latest(ExerciseAttempt, "user", "created"),
        last_run=_latest(DemoRun, "owner", "created"),
        run_count=_count(DemoRun, "owner"),
        exercise_tries=_count(ExerciseAttempt, "user"),
        exercise_passes=_count(ExerciseAttempt, "user", passed=True),
    )


def _last_active(student: User) -> datetime | None:
    times = [
        student.last_done,
        student.last_answer,
        student.last_best,
        student.last_exercise,
        student.last_run,
    ]
    return max((t for t in times if t is not None), default=None)


def class_grid(
    cohort: Cohort,
    *,
    idle_days: int = DEFAULT_IDLE_DAYS,
    now: datetime | None = None,
    students: QuerySet[User] | None = None,
) -> ClassGrid:
    """Students × lessons: done, best quiz score, attempts; per student the last
    activity, person-demo runs and why they look stuck. Four queries.

    Stuck means: no activity for ``idle_days`` days (counted from joining the class
    for a student who has done nothing since), a quiz tried
    ``STUCK_AFTER_FAILS`` times without passing, or the exercise tried but never
    passed.
    """
    now = now or timezone.now()
    students = class_students(cohort) if students is None else students
    lessons = list(Lesson.objects.order_by("order"))
    joined = CohortMembership.objects.filter(cohort=cohort, student=OuterRef("pk"))
    people = list(
        students_with_activity(students).annotate(
            joined=Subquery(joined.values("joined")[:1])
        )
    )
    ids = [person.pk for person in people]
    done = {
        (user_id, lesson_id): completed_at
        for user_id, lesson_id, completed_at in LessonProgress.objects.filter(
            user_id__in=ids
        ).values_list("user_id", "lesson_id", "completed_at")
    }
    scores = {
        (row.user_id, row.lesson_id): row
        for row in QuizScore.objects.filter(user_id__in=ids).only(
            "user", "lesson", "best_score", "total", "attempts", "passed"
        )
    }
    idle_since = now - timedelta(days=idle_days)
    rows = []
    for person in people:
        cells = []
        for lesson in lessons:
            key = (person.pk, lesson.pk)
            score = scores.get(key)
            if key not in done and score is None:
                cells.append(EMPTY_CELL)
                continue
            cells.append(
                LessonCell(
                    done=key in done,
                    done_at=done.get(key),
                    best_score=score.best_score if score else None,
                    total=score.total if score else None,
                    attempts=score.attempts if score else 0,
                    passed=score.passed if score else False,
                )
            )
        row = StudentRow(
            student=person,
            cells=cells,
            last_active=_last_active(person),
            runs=person.run_count or 0,
            exercise_tries=person.exercise_tries or 0,
            exercise_passes=person.exercise_passes or 0,
        )
        row.failing_lessons = [
            lesson.slug
            for lesson, cell in zip(lessons, cells, strict=True)
            if cell.is_failing
        ]
        seen = max(filter(None, [row.last_active, person.joined]), default=now)
        if seen < idle_since:
            row.stuck.append("idle")
        if row.failing_lessons:
            row.stuck.append("quiz")
        if row.exercise_tries and not row.exercise_passes:
            row.stuck.append("exercise")
        rows.append(row)
    return ClassGrid(lessons, rows)


def sort_rows(rows: list[StudentRow], key: str) -> list[StudentRow]:
    """Rows sorted by ``name``, ``done``, ``score`` or ``last_active``; a leading
    "-" reverses. Unknown keys sort by name. Never-active students sort first."""
    descending = key.startswith("-")
    name = key.lstrip("-")
    if name not in SORT_KEYS:
        name, descending = "name", False
    oldest = datetime.min.replace(tzinfo=timezone.get_current_timezone())

    def by(row: StudentRow) -> Any:
        if name == "done":
            return (row.done_count, row.student.username)
        if name == "score":
            return (row.score_sum, row.student.username)
        if name == "last_active":
            return (row.last_active or oldest, row.student.username)
        return row.student.username.lower()

    return sorted(rows, key=by, reverse=descending)


# --- Item analysis ------------------------------------------------------------------


@dataclass(frozen=True)
class WrongAnswer:
    """The most chosen wrong answer: a choice (id and text) or a typed number."""

    choice: str  # the choice id, "" for a number question
    text: str  # the choice's text, or the number as typed
    count: int


@dataclass(frozen=True)
class ItemRow:
    lesson: Lesson
    question: str  # the question id
    prompt: str
    attempts: int
    correct: int
    top_wrong: WrongAnswer | None

    @property
    def correct_rate(self) -> float | None:
        """Share of right answers, 0 to 1 (None before any answer)."""
        return round(self.correct / self.attempts, 3) if self.attempts else None

    @property
    def correct_percent(self) -> int | None:
        rate = self.correct_rate
        return None if rate is None else round(100 * rate)


def _question_order(lesson: Lesson) -> tuple[dict[str, int], dict[str, Any]]:
    quiz = quizzes.read_quiz(quizzes.QUIZZES_DIR, lesson.slug)
    if quiz is None:
        return {}, {}
    questions = {question.id: question for question in quiz.questions}
    return {qid: index for index, qid in enumerate(questions)}, questions


def quiz_items(cohort: Cohort) -> list[ItemRow]:
    """One row per quiz question the class has answered: how many answers, how many
    right, and the most frequent wrong answer with its text. Three queries; rows in
    course order, questions in quiz order, so the hardest stand out by their rate."""
    lang = _language()
    answers = QuizAnswer.objects.filter(user__cohort_memberships__cohort=cohort)
    totals = answers.values("lesson_id", "question").annotate(
        attempts=Count("pk"), correct=Count("pk", filter=Q(is_correct=True))
    )
    wrong = Counter()
    for row in (
        answers.filter(is_correct=False)
        .values("lesson_id", "question", "choice", "answer_text")
        .annotate(n=Count("pk"))
    ):
        key = (row["lesson_id"], row["question"], row["choice"], row["answer_text"])
        wrong[key] = row["n"]
    top: dict[tuple[int, str], tuple[str, str, int]] = {}
    for (lesson_id, question, choice, typed), n in wrong.most_common():
        top.setdefault((lesson_id, question), (choice, typed, n))
    totals = list(totals)
    lessons = Lesson.objects.in_bulk({row["lesson_id"] for row in totals})
    quiz_cache: dict[int, tuple[dict[str, int], dict[str, Any]]] = {}
    items = []
    for row in totals:
        lesson = lessons[row["lesson_id"]]
        if lesson.pk not in quiz_cache:
            quiz_cache[lesson.pk] = _question_order(lesson)
        _order, questions = quiz_cache[lesson.pk]
        question = questions.get(row["question"])
        top_wrong = None
        if (lesson.pk, row["question"]) in top:
            choice, typed, n = top[(lesson.pk, row["question"])]
            text = typed
            if choice and question is not None:
                text = find_choice_text(question.choices, choice, lang) or choice
            top_wrong = WrongAnswer(choice=choice, text=text, count=n)
        items.append(
            ItemRow(
                lesson=lesson,
                question=row["question"],
                prompt=prompt_text(question, lang) if question else "",
                attempts=row["attempts"],
                correct=row["correct"],
                top_wrong=top_wrong,
            )
        )
    items.sort(
        key=lambda item: (
            item.lesson.order,
            quiz_cache[item.lesson.pk][0].get(item.question, 999),
            item.question,
        )
    )
    return items


# --- The exercise and the person demo -----------------------------------------------


@dataclass(frozen=True)
class ExerciseStep:
    exercise: str
    step: str
    students_tried: int
    students_passed: int
    attempts: int
    top_diagnosis: str  # the most common diagnosed mistake's code ("" for none)
    top_diagnosis_count: int
    passed_by: list[str]  # usernames


def exercise_summary(cohort: Cohort) -> list[ExerciseStep]:
    """Per exercise step: who tried, who passed (usernames) and the most common
    diagnosed mistake of the failed attempts. Two queries."""
    attempts = ExerciseAttempt.objects.filter(user__cohort_memberships__cohort=cohort)
    per_student = attempts.values("exercise", "step", "user__username").annotate(
        tries=Count("pk"), passes=Count("pk", filter=Q(passed=True))
    )
    diagnoses = Counter()
    for row in (
        attempts.filter(passed=False)
        .exclude(diagnosis="")
        .values("exercise", "step", "diagnosis")
        .annotate(n=Count("pk"))
    ):
        diagnoses[(row["exercise"], row["step"], row["diagnosis"])] = row["n"]
    steps: dict[tuple[str, str], dict[str, Any]] = {}
    for row in per_student:
        entry = steps.setdefault(
            (row["exercise"], row["step"]), {"tried": 0, "attempts": 0, "passed": []}
        )
        entry["tried"] += 1
        entry["attempts"] += row["tries"]
        if row["passes"]:
            entry["passed"].append(row["user__username"])
    summary = []
    for (exercise, step), entry in sorted(steps.items()):
        mistakes = [
            (n, code)
            for (ex, st, code), n in diagnoses.items()
            if (ex, st) == (exercise, step)
        ]
        count, code = max(mistakes, default=(0, ""))
        summary.append(
            ExerciseStep(
                exercise=exercise,
                step=step,
                students_tried=entry["tried"],
                students_passed=len(entry["passed"]),
                attempts=entry["attempts"],
                top_diagnosis=code,
                top_diagnosis_count=count,
                passed_by=sorted(entry["passed"]),
            )
        )
    return summary


def most_common_diagnosis(steps: list[ExerciseStep]) -> str:
    counts = Counter()
    for step in steps:
        if step.top_diagnosis:
            counts[step.top_diagnosis] += step.top_diagnosis_count
    return counts.most_common(1)[0][0] if counts else ""


# --- One student ---------------------------------------------------------------------


def get_class_student(cohort: Cohort, username: str) -> User:
    """A student of this class by username, or 404 (also for non-members)."""
    student = class_students(cohort).filter(username=username).first()
    if student is None:
        raise Http404("No such student in this class.")
    return student


@dataclass(frozen=True)
class AnswerRow:
    lesson: Lesson
    attempt: int
    question: str
    prompt: str
    answer: str  # the chosen choice's text, or the number as typed
    is_correct: bool
    created: datetime


def student_answers(student: User) -> list[AnswerRow]:
    """Every quiz answer of the student, in course order then attempt and question,
    with the question's and the chosen choice's text."""
    lang = _language()
    rows = QuizAnswer.objects.filter(user=student).select_related("lesson")
    rows = rows.order_by("lesson__order", "attempt", "question")
    quiz_cache: dict[int, dict[str, Any]] = {}
    answers = []
    for row in rows:
        if row.lesson_id not in quiz_cache:
            quiz_cache[row.lesson_id] = _question_order(row.lesson)[1]
        question = quiz_cache[row.lesson_id].get(row.question)
        text = row.answer_text
        if row.choice:
            text = (
                find_choice_text(question.choices, row.choice, lang)
                if question
                else None
            ) or row.choice
        answers.append(
            AnswerRow(
                lesson=row.lesson,
                attempt=row.attempt,
                question=row.question,
                prompt=prompt_text(question, lang) if question else "",
                answer=text,
                is_correct=row.is_correct,
                created=row.created,
            )
        )
    return answers


def student_exercise_attempts(student: User) -> QuerySet[ExerciseAttempt]:
    return ExerciseAttempt.objects.filter(user=student).order_by("-created", "-pk")


def student_runs(student: User) -> QuerySet[DemoRun]:
    """The student's person-demo runs, newest first, with ``people``: the boxes at
    or above the run's own threshold (what the student saw)."""
    return (
        DemoRun.objects.filter(owner=student)
        .annotate(
            people=Count(
                "detections",
                filter=Q(detections__score__gte=F("score_threshold")),
            )
        )
        .order_by("-created")
    )
