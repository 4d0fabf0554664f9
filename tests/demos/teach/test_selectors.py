"""Reads of the class dashboard: the grid, who is stuck, item analysis, the
exercise, one student; and the grid's query count for a class of 60."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from demos.lessons import quizzes
from demos.models import Lesson, LessonProgress
from demos.teach import selectors
from demos.teach.questions import choice_id, find_choice_text, prompt_text
from tests.factories import (
    make_cohort,
    make_demo_run,
    make_exercise_attempt,
    make_quiz_answer,
    make_quiz_score,
    make_student_in,
    make_user,
)

pytestmark = pytest.mark.django_db


def lesson(slug: str) -> Lesson:
    return Lesson.objects.get(slug=slug)


def cell(grid: selectors.ClassGrid, username: str, slug: str) -> selectors.LessonCell:
    row = next(r for r in grid.rows if r.student.username == username)
    index = [item.slug for item in grid.lessons].index(slug)
    return row.cells[index]


def convolution_question(question_id: str):
    quiz = quizzes.read_quiz(quizzes.QUIZZES_DIR, "convolution")
    return next(q for q in quiz.questions if q.id == question_id)


def convolution_choice(question_id: str, index: int) -> str:
    """The stored id of a choice of the convolution quiz, whatever its file shape."""
    question = convolution_question(question_id)
    return choice_id(question.choices[index], index)


def choice_text_of(question_id: str, wanted: str, lang: str) -> str:
    """The text of a choice, read from the quiz file (it is edited over time)."""
    question = convolution_question(question_id)
    return find_choice_text(question.choices, wanted, lang)


def test_the_grid_shows_done_best_score_and_attempts(course, cohort, students) -> None:
    minji, jisoo, _hyun = students
    LessonProgress.objects.create(user=minji, lesson=lesson("convolution"))
    make_quiz_score(
        user=minji, lesson=lesson("convolution"), best_score=4, total=4, attempts=2
    )
    make_quiz_score(
        user=jisoo, lesson=lesson("pooling"), best_score=1, total=5, passed=False
    )
    grid = selectors.class_grid(cohort)
    assert [row.student.username for row in grid.rows] == ["hyun", "jisoo", "minji"]
    assert len(grid.lessons) == 15
    assert cell(grid, "minji", "convolution") == selectors.LessonCell(
        done=True,
        done_at=LessonProgress.objects.get(user=minji).completed_at,
        best_score=4,
        total=4,
        attempts=2,
        passed=True,
    )
    assert cell(grid, "jisoo", "pooling").best_score == 1
    assert cell(grid, "jisoo", "pooling").done is False
    assert cell(grid, "hyun", "convolution") == selectors.EMPTY_CELL


def test_other_classes_students_are_not_in_the_grid(course, cohort, students) -> None:
    other = make_cohort(instructor=make_user(username="t2", is_staff=True))
    make_student_in(other, username="outsider")
    grid = selectors.class_grid(cohort)
    assert "outsider" not in [row.student.username for row in grid.rows]


def test_last_activity_is_the_latest_of_every_kind(course, cohort, students) -> None:
    minji = students[0]
    make_quiz_answer(user=minji, lesson=lesson("convolution"))
    run = make_demo_run(owner=minji)
    grid = selectors.class_grid(cohort)
    row = next(r for r in grid.rows if r.student == minji)
    assert row.last_active == run.created
    assert row.runs == 1


def test_who_is_stuck_and_why(course, cohort, students) -> None:
    minji, jisoo, hyun = students
    now = timezone.now()
    # minji: active, but failed the pooling quiz three times.
    make_quiz_score(
        user=minji, lesson=lesson("pooling"), attempts=3, passed=False, best_score=1
    )
    make_quiz_answer(user=minji, lesson=lesson("pooling"))
    # jisoo: active, tried the exercise twice, never passed.
    make_exercise_attempt(user=jisoo, diagnosis="xy-order")
    make_exercise_attempt(user=jisoo, diagnosis="xy-order")
    # hyun: passed the exercise, but 10 days ago, nothing since.
    old = make_exercise_attempt(user=hyun, passed=True)
    type(old).objects.filter(pk=old.pk).update(created=now - timedelta(days=10))
    grid = selectors.class_grid(cohort, idle_days=7, now=now)
    stuck = {row.student.username: row.stuck for row in grid.rows}
    assert stuck == {"minji": ["quiz"], "jisoo": ["exercise"], "hyun": ["idle"]}
    minji_row = next(r for r in grid.rows if r.student == minji)
    assert minji_row.failing_lessons == ["pooling"]
    assert selectors.class_grid(cohort, idle_days=30, now=now).rows[0].stuck == []


def test_a_student_who_never_did_anything_is_idle(course, cohort, students) -> None:
    grid = selectors.class_grid(cohort)
    assert all(row.stuck == ["idle"] for row in grid.rows)
    assert len(grid.stuck_rows) == 3


def test_a_student_who_just_joined_is_not_idle_yet(course, cohort) -> None:
    make_student_in(cohort, username="newcomer")
    [row] = selectors.class_grid(cohort, idle_days=7).rows
    assert row.last_active is None
    assert row.stuck == []


def test_rows_sort_by_done_score_and_last_activity(course, cohort, students) -> None:
    minji, jisoo, hyun = students
    for slug in ("convolution", "pooling"):
        LessonProgress.objects.create(user=jisoo, lesson=lesson(slug))
    LessonProgress.objects.create(user=hyun, lesson=lesson("convolution"))
    make_quiz_score(user=minji, lesson=lesson("pooling"), best_score=5, total=5)
    rows = selectors.class_grid(cohort).rows
    names = lambda key: [r.student.username for r in selectors.sort_rows(rows, key)]  # noqa: E731
    assert names("-done") == ["jisoo", "hyun", "minji"]
    assert names("-score")[0] == "minji"
    assert names("name") == ["hyun", "jisoo", "minji"]
    assert names("-name") == ["minji", "jisoo", "hyun"]
    assert names("last_active") == ["jisoo", "hyun", "minji"]
    make_student_in(cohort, username="zed")  # never active: sorts first
    rows = selectors.class_grid(cohort).rows
    assert names("last_active")[0] == "zed"
    assert names("bogus") == ["hyun", "jisoo", "minji", "zed"]


def test_item_analysis_counts_answers_and_names_the_top_wrong_choice(
    course, cohort, students
) -> None:
    minji, jisoo, hyun = students
    conv = lesson("convolution")
    wrong = convolution_choice("q2", 1)
    right = convolution_choice("q2", 0)
    make_quiz_answer(
        user=minji, lesson=conv, question="q2", choice=wrong, is_correct=False
    )
    make_quiz_answer(
        user=jisoo, lesson=conv, question="q2", choice=wrong, is_correct=False
    )
    make_quiz_answer(user=hyun, lesson=conv, question="q2", choice=right)
    make_quiz_answer(
        user=minji, lesson=conv, question="q1", answer_text="5", is_correct=False
    )
    make_quiz_answer(user=jisoo, lesson=conv, question="q1", answer_text="3")
    outsider = make_user(username="outsider")
    make_quiz_answer(user=outsider, lesson=conv, question="q2", choice=right)
    with override("ko"):
        items = selectors.quiz_items(cohort)
    assert [(i.lesson.slug, i.question) for i in items] == [
        ("convolution", "q1"),
        ("convolution", "q2"),
    ]
    q1, q2 = items
    assert (q2.attempts, q2.correct, q2.correct_rate, q2.correct_percent) == (
        3,
        1,
        0.333,
        33,
    )
    assert q2.top_wrong == selectors.WrongAnswer(
        choice=wrong, text=choice_text_of("q2", wrong, "ko"), count=2
    )
    assert q2.prompt == prompt_text(convolution_question("q2"), "ko")
    assert q2.prompt and q2.top_wrong.text
    assert q1.top_wrong == selectors.WrongAnswer(choice="", text="5", count=1)
    assert q1.correct_rate == 0.5


def test_exercise_summary_names_who_passed_and_the_common_mistake(
    course, cohort, students
) -> None:
    minji, jisoo, hyun = students
    make_exercise_attempt(user=minji, diagnosis="xy-order")
    make_exercise_attempt(user=minji, passed=True)
    make_exercise_attempt(user=jisoo, diagnosis="xy-order")
    make_exercise_attempt(user=hyun, diagnosis="clipping")
    [step] = selectors.exercise_summary(cohort)
    assert (step.students_tried, step.students_passed, step.attempts) == (3, 1, 4)
    assert step.passed_by == ["minji"]
    assert (step.top_diagnosis, step.top_diagnosis_count) == ("xy-order", 2)
    assert selectors.most_common_diagnosis([step]) == "xy-order"


def test_a_student_page_reads_answers_with_their_texts(
    course, cohort, students
) -> None:
    minji = students[0]
    wrong = convolution_choice("q2", 1)
    make_quiz_answer(
        user=minji,
        lesson=lesson("convolution"),
        question="q2",
        choice=wrong,
        is_correct=False,
    )
    with override("en"):
        [answer] = selectors.student_answers(minji)
    assert answer.answer == choice_text_of("q2", wrong, "en")
    assert answer.answer != wrong  # the text, not the id
    assert answer.is_correct is False


def test_only_class_members_are_found_by_username(course, cohort, students) -> None:
    from django.http import Http404

    make_user(username="outsider")
    assert selectors.get_class_student(cohort, "minji") == students[0]
    with pytest.raises(Http404):
        selectors.get_class_student(cohort, "outsider")


GRID_QUERIES = 4


def test_the_grid_of_60_students_and_15_lessons_takes_four_queries(
    class_of_60, cohort, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(GRID_QUERIES):
        grid = selectors.class_grid(cohort)
        assert len(grid.rows) == 60
        assert all(len(row.cells) == 15 for row in grid.rows)
        assert sum(row.done_count for row in grid.rows) == 600
