"""The quiz files and the pure grading in demos/lessons/quizzes.py (no database)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from demos.lessons import quizzes
from demos.lessons.loading import discover_lessons
from demos.lessons.quizzes import (
    InvalidAnswers,
    QuizFormatError,
    grade,
    parse_answer,
    parse_quiz,
    public_questions,
    read_quiz,
)
from tests.conftest import REPO_DIR

CONTENT = REPO_DIR / "demos" / "lessons" / "content"
SLUGS = [source.slug for source in discover_lessons(CONTENT)]
QUIZ = """{"questions": [
 {"id": "a", "kind": "choice", "prompt": {"en": "Pick B", "ko": "B를 고르세요"},
  "choices": [
    {"id": "x", "text": {"en": "A", "ko": "가"},
     "why": {"en": "Not A.", "ko": "가는 아닙니다."}},
    {"id": "y", "text": {"en": "B", "ko": "나"},
     "why": {"en": "Yes, B.", "ko": "네, 나."}}],
  "answer": "y",
  "explanation": {"en": "B is right.", "ko": "나가 맞습니다."}},
 {"id": "b", "kind": "number", "prompt": {"en": "Pi?", "ko": "원주율?"},
  "answer": 3.14159, "tolerance": 0.01,
  "explanation": {"en": "About 3.14.", "ko": "약 3.14."}},
 {"id": "c", "kind": "number", "prompt": {"en": "2 + 2?", "ko": "2 + 2?"},
  "answer": 4, "tolerance": 0, "explanation": {"en": "4.", "ko": "4."}}
]}"""


@pytest.fixture
def quiz() -> quizzes.Quiz:
    return parse_quiz("demo", QUIZ)


@pytest.mark.parametrize("slug", SLUGS)
def test_every_lesson_has_a_valid_quiz_of_three_to_seven_questions(slug: str) -> None:
    quiz = read_quiz(CONTENT / "quizzes", slug)
    assert quiz is not None, f"no quizzes/{slug}.json"
    assert 3 <= quiz.total <= 7
    for lang in ("en", "ko"):
        public = public_questions(quiz, lang)
        assert all(q["prompt"] for q in public)
        # The answer key never leaves the server.
        assert all(set(q) == {"id", "kind", "prompt", "choices"} for q in public)
        for q, sent in zip(quiz.questions, public, strict=True):
            assert all(set(c) == {"id", "text"} for c in sent["choices"])
            assert sorted(c["id"] for c in sent["choices"]) == sorted(
                c.id for c in q.choices
            )


ALL_QUIZZES = [read_quiz(CONTENT / "quizzes", slug) for slug in SLUGS]
CHOICE_QUESTIONS = [
    q for quiz in ALL_QUIZZES for q in quiz.questions if q.kind == "choice"
]


def test_a_student_who_always_picks_the_first_option_passes_no_quiz() -> None:
    for quiz in ALL_QUIZZES:
        first = {q.id: q.choices[0].id for q in quiz.questions if q.kind == "choice"}
        result = grade(quiz, first, "ko")
        assert not result.passed, (quiz.slug, result.score)


def test_the_right_answers_are_spread_across_positions() -> None:
    positions = [[c.id for c in q.choices].index(q.answer) for q in CHOICE_QUESTIONS]
    share = {p: positions.count(p) / len(positions) for p in set(positions)}
    assert set(share) == {0, 1, 2, 3}
    assert max(share.values()) <= 0.35, share  # four choices: 0.25 each ideally


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_longest_choice_is_seldom_the_right_one(lang: str) -> None:
    def right_is_longest(q: quizzes.Question) -> bool:
        lengths = [len(c.text[lang]) for c in q.choices]
        right = lengths[[c.id for c in q.choices].index(q.answer)]
        return right == max(lengths) and lengths.count(right) == 1

    longest = sum(right_is_longest(q) for q in CHOICE_QUESTIONS)
    assert longest / len(CHOICE_QUESTIONS) <= 0.4, (longest, len(CHOICE_QUESTIONS))


def test_every_quiz_asks_to_read_code_and_the_notes_bugs_are_asked() -> None:
    for quiz in ALL_QUIZZES:
        assert any(
            q.id.startswith(("code", "notes")) and "`" in q.prompt["en"]
            for q in quiz.questions
        ), quiz.slug
    prompts = [q.prompt for quiz in ALL_QUIZZES for q in quiz.questions]
    text = json.dumps(prompts, ensure_ascii=False)
    for bug in ("in_features_", "CrosEntropyLoss", "0.1씩 감소", "pretrained=True"):
        assert bug in text, bug


def test_choice_ids_are_stable_and_hide_nothing() -> None:
    for q in CHOICE_QUESTIONS:
        assert [c.id for c in q.choices] == list("abcd"[: len(q.choices)])


def test_each_attempt_gets_its_own_order_of_choices(quiz: quizzes.Quiz) -> None:
    import random

    seen = {
        tuple(
            c["id"]
            for c in public_questions(quiz, "en", rng=random.Random(seed))[0]["choices"]
        )
        for seed in range(20)
    }
    assert seen == {("x", "y"), ("y", "x")}


def test_the_right_answers_score_full_marks_in_every_real_quiz() -> None:
    for slug in SLUGS:
        quiz = read_quiz(CONTENT / "quizzes", slug)
        result = grade(quiz, {q.id: q.answer for q in quiz.questions}, "ko")
        assert (result.score, result.passed) == (quiz.total, True), slug


def test_grading_marks_each_answer_and_explains_the_choice_picked(
    quiz: quizzes.Quiz,
) -> None:
    result = grade(quiz, {"a": "x", "b": 3.145, "c": 5}, "en")
    assert (result.score, result.total, result.passed) == (1, 3, False)
    by_id = {item.id: item for item in result.feedback}
    assert by_id["a"].correct is False
    assert by_id["a"].choice_explanation == "Not A."
    assert by_id["a"].explanation == "B is right."
    assert by_id["b"].correct is True  # within the tolerance of 0.01
    assert by_id["c"].correct is False


def test_unanswered_questions_count_as_wrong_and_korean_feedback_is_korean(
    quiz: quizzes.Quiz,
) -> None:
    result = grade(quiz, {"a": "y", "c": "4"}, "ko")
    assert (result.score, result.passed) == (2, True)  # 2 of 3 passes
    assert [item.correct for item in result.feedback] == [True, False, True]
    assert result.feedback[0].choice_explanation == "네, 나."
    assert result.feedback[1].choice_explanation == ""


def test_pass_mark_is_sixty_percent_rounded_up() -> None:
    assert [quizzes.pass_mark(n) for n in (1, 3, 4, 5, 6, 7)] == [1, 2, 3, 3, 4, 5]


@pytest.mark.parametrize(
    "value",
    [
        True,
        None,
        math.nan,
        math.inf,
        -math.inf,
        "nan",
        "inf",
        "1e999",
        "1e1000000",
        "9" * 40,
        "1" * 17,
        10**20,
        1e300,
        "0x10",
        [4],
        {"x": 4},
    ],
)
def test_hostile_numbers_are_refused(quiz: quizzes.Quiz, value: object) -> None:
    with pytest.raises(InvalidAnswers):
        parse_answer(quiz.questions[2], value)


@pytest.mark.parametrize("text", ["4", " 4 ", "4.0", "+4", "4e0", "0.4e1", ".4e1"])
def test_plain_number_texts_are_accepted(quiz: quizzes.Quiz, text: str) -> None:
    assert parse_answer(quiz.questions[2], text) == 4.0


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("67,617", 67617),
        ("67 617", 67617),
        ("67\u202f617", 67617),
        ("1,209,600", 1209600),
        ("1,234.5", 1234.5),
        ("６７６１７", 67617),
        ("６７，６１７", 67617),
        ("−3", -3),
        ("1/4", 0.25),
        ("1 / 4", 0.25),
        ("-3/4", -0.75),
        ("１／４", 0.25),
    ],
)
def test_numbers_are_read_as_students_write_them(
    quiz: quizzes.Quiz, text: str, value: float
) -> None:
    assert parse_answer(quiz.questions[2], text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["1,5", "67,61", "6,7617", "1//4", "1/0", "1/", "4 4"])
def test_ambiguous_or_broken_number_texts_are_refused(
    quiz: quizzes.Quiz, text: str
) -> None:
    with pytest.raises(InvalidAnswers):
        parse_answer(quiz.questions[2], text)


def test_one_unreadable_answer_is_reported_and_the_rest_is_graded(
    quiz: quizzes.Quiz,
) -> None:
    result = grade(quiz, {"a": "y", "b": "pi", "c": "4"}, "en")
    assert (result.score, result.passed) == (2, True)
    by_id = {item.id: item for item in result.feedback}
    assert "'pi' is not a number" in by_id["b"].error
    assert by_id["b"].answer_text == "pi" and not by_id["b"].correct
    assert by_id["a"].choice == "y" and by_id["a"].error == ""
    assert by_id["c"].answer_text == "4"


@pytest.mark.parametrize("value", [-1, 0, 1, 1.5, "one", "A", 10**30, None])
def test_a_choice_must_be_one_of_the_choice_ids(
    quiz: quizzes.Quiz, value: object
) -> None:
    result = grade(quiz, {"a": value}, "en")
    feedback = result.feedback[0]
    assert feedback.correct is False and feedback.choice == ""
    assert bool(feedback.error) is (value is not None)


def test_unknown_question_ids_are_refused(quiz: quizzes.Quiz) -> None:
    with pytest.raises(InvalidAnswers, match="zzz"):
        grade(quiz, {"zzz": 1}, "en")
    with pytest.raises(InvalidAnswers):
        grade(quiz, [1, 2], "en")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not json", "not valid JSON"),
        ('{"questions": []}', "expected"),
        ('{"questions": [{"id": "a", "kind": "essay"}]}', "en"),
        (QUIZ.replace('"answer": "y"', '"answer": 1'), "not one of the choice ids"),
        (QUIZ.replace('"id": "y"', '"id": "x"'), "share an id"),
        (
            '{"questions": [{"id": "a", "kind": "number", "prompt": {"en": "x", '
            '"ko": "y"}, "explanation": {"en": "x", "ko": "y"}, "answer": "4"}]}',
            "finite",
        ),
    ],
)
def test_malformed_quiz_files_are_refused(text: str, complaint: str) -> None:
    with pytest.raises(QuizFormatError, match=complaint):
        parse_quiz("demo", text)


def test_a_quiz_is_reread_when_its_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_text(QUIZ, encoding="utf-8")
    assert read_quiz(tmp_path, "demo").total == 3
    assert read_quiz(tmp_path, "missing") is None
    shorter = QUIZ.replace('"answer": 4,', '"answer": 5,')
    path.write_text(shorter, encoding="utf-8")
    os.utime(path, (1, 1))
    assert read_quiz(tmp_path, "demo").questions[2].answer == 5


def test_doctests_hold() -> None:
    import doctest

    assert doctest.testmod(quizzes).failed == 0
