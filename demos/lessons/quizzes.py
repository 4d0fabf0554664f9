"""Lesson quizzes: read ``content/quizzes/<slug>.json`` and grade answers.

Pure module (json and math only; never Django). A quiz file holds 3–5 questions,
each ``{"id", "kind": "choice" | "number", "prompt": {"en", "ko"}, "answer",
"explanation": {"en", "ko"}}`` plus ``choices`` and ``choice_explanations`` (one
per choice) for a choice question or ``tolerance`` for a number question. The page
only ever gets ``public_questions`` (no answers); ``grade`` runs on the server.

Answers arrive from the network, so ``parse_answer`` refuses anything that is not
a plain, finite, modest number: booleans, NaN and infinities, strings longer than
``MAX_NUMBER_TEXT`` characters, exponents of more than three digits and magnitudes
above ``MAX_MAGNITUDE``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from portal.lib.errors import BadInput

QUIZZES_DIR = Path(__file__).resolve().parent / "content" / "quizzes"
LANGUAGES = ("en", "ko")
PASS_FRACTION = 0.6  # 2 of 3, 3 of 4, 3 of 5
MAX_NUMBER_TEXT = 32
MAX_MAGNITUDE = 1e15
NUMBER_TEXT = re.compile(
    r"^[-+]?(\d{1,16}(\.\d{0,12})?|\.\d{1,12})([eE][-+]?\d{1,3})?$"
)


class QuizFormatError(BadInput):
    """A quiz file is missing or does not follow the schema."""


class InvalidAnswers(BadInput):
    """The submitted answers are not a map of known question ids to values."""


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "choice" or "number"
    prompt: dict[str, str]
    answer: float | int
    explanation: dict[str, str]
    choices: tuple[dict[str, str], ...] = ()
    choice_explanations: tuple[dict[str, str], ...] = ()
    tolerance: float = 0.0


@dataclass(frozen=True)
class Quiz:
    slug: str
    questions: tuple[Question, ...]

    @property
    def total(self) -> int:
        return len(self.questions)


@dataclass(frozen=True)
class Feedback:
    id: str
    correct: bool
    explanation: str  # why the right answer is right
    choice_explanation: str  # about the choice picked ("" for numbers / no answer)


@dataclass(frozen=True)
class Grade:
    score: int
    total: int
    passed: bool
    feedback: tuple[Feedback, ...]


def pass_mark(total: int) -> int:
    """Right answers needed to pass: ``ceil(PASS_FRACTION * total)``.

    >>> [pass_mark(n) for n in (3, 4, 5)]
    [2, 3, 3]
    """
    return math.ceil(PASS_FRACTION * total - 1e-9)


def _text(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(value.get(lang), str) and value[lang].strip() for lang in LANGUAGES
    ):
        raise QuizFormatError(f"{where}: needs non-empty 'en' and 'ko' texts.")
    return {lang: value[lang] for lang in LANGUAGES}


def _finite(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _question(raw: object, where: str) -> Question:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise QuizFormatError(f"{where}: a question needs a string 'id'.")
    where = f"{where} {raw['id']}"
    kind = raw.get("kind")
    prompt = _text(raw.get("prompt"), f"{where} prompt")
    explanation = _text(raw.get("explanation"), f"{where} explanation")
    answer = raw.get("answer")
    if kind == "choice":
        choices = tuple(_text(c, f"{where} choice") for c in raw.get("choices") or [])
        notes = tuple(
            _text(n, f"{where} choice explanation")
            for n in raw.get("choice_explanations") or []
        )
        if len(choices) < 2 or len(notes) != len(choices):
            raise QuizFormatError(f"{where}: needs 2+ choices, one note per choice.")
        if not isinstance(answer, int) or isinstance(answer, bool):
            raise QuizFormatError(f"{where}: 'answer' must be a choice index.")
        if not 0 <= answer < len(choices):
            raise QuizFormatError(f"{where}: 'answer' is not one of the choices.")
        return Question(raw["id"], kind, prompt, answer, explanation, choices, notes)
    if kind == "number":
        tolerance = raw.get("tolerance", 0)
        if not _finite(answer) or not _finite(tolerance) or tolerance < 0:
            raise QuizFormatError(f"{where}: needs a finite 'answer' and 'tolerance'.")
        return Question(
            raw["id"], kind, prompt, answer, explanation, tolerance=float(tolerance)
        )
    raise QuizFormatError(f"{where}: 'kind' must be 'choice' or 'number'.")


def parse_quiz(slug: str, text: str) -> Quiz:
    """A quiz from the text of its JSON file (see the module docstring)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuizFormatError(f"{slug}.json: not valid JSON ({exc}).") from None
    raw = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise QuizFormatError(f'{slug}.json: expected {{"questions": [...]}}.')
    questions = tuple(_question(q, f"{slug}.json") for q in raw)
    if len({q.id for q in questions}) != len(questions):
        raise QuizFormatError(f"{slug}.json: two questions share an id.")
    return Quiz(slug, questions)


_CACHE: dict[Path, tuple[float, Quiz]] = {}


def read_quiz(directory: Path, slug: str) -> Quiz | None:
    """The quiz of lesson ``slug`` from ``directory/<slug>.json``; None if it has none.

    Parsed once and kept until the file's modification time changes.
    """
    path = directory / f"{slug}.json"
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _CACHE.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    quiz = parse_quiz(slug, path.read_text(encoding="utf-8"))
    _CACHE[path] = (mtime, quiz)
    return quiz


def public_questions(quiz: Quiz, lang: str) -> list[dict[str, object]]:
    """What the page may see, in ``lang``: id, kind, prompt, choices (no answers)."""
    return [
        {
            "id": q.id,
            "kind": q.kind,
            "prompt": q.prompt[lang],
            "choices": [choice[lang] for choice in q.choices],
        }
        for q in quiz.questions
    ]


def parse_answer(question: Question, value: object) -> float | int:
    """A submitted answer as a number, or ``InvalidAnswers`` saying why not.

    >>> q = Question("q1", "number", {}, 28, {}, tolerance=0.5)
    >>> parse_answer(q, "28.0"), parse_answer(q, 28)
    (28.0, 28)
    """
    if isinstance(value, bool) or value is None:
        raise InvalidAnswers(f"{question.id}: expected a number.")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_TEXT or not NUMBER_TEXT.match(text):
            raise InvalidAnswers(f"{question.id}: {value[:40]!r} is not a number.")
        value = float(text)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidAnswers(f"{question.id}: expected a finite number.")
    if abs(value) > MAX_MAGNITUDE:
        raise InvalidAnswers(f"{question.id}: the number is out of range.")
    if question.kind == "choice":
        if float(value) != int(value) or not 0 <= value < len(question.choices):
            raise InvalidAnswers(f"{question.id}: choose one of the choices.")
        return int(value)
    return value


def grade(quiz: Quiz, answers: object, lang: str) -> Grade:
    """Mark every question; unanswered ones count as wrong.

    ``answers`` maps question ids to a choice index (choice) or a number within
    ``tolerance`` of the answer (number). Unknown ids or bad values raise
    ``InvalidAnswers`` (nothing is graded).
    """
    if not isinstance(answers, dict):
        raise InvalidAnswers("'answers' must map question ids to answers.")
    by_id = {q.id: q for q in quiz.questions}
    unknown = [key for key in answers if key not in by_id]
    if unknown:
        raise InvalidAnswers(f"Unknown question ids: {', '.join(unknown[:5])[:80]}.")
    given = {key: parse_answer(by_id[key], value) for key, value in answers.items()}
    feedback = []
    for q in quiz.questions:
        value = given.get(q.id)
        note = ""
        if value is None:
            correct = False
        elif q.kind == "choice":
            correct = value == q.answer
            note = q.choice_explanations[int(value)][lang]
        else:
            correct = abs(float(value) - float(q.answer)) <= q.tolerance + 1e-9
        feedback.append(Feedback(q.id, correct, q.explanation[lang], note))
    score = sum(item.correct for item in feedback)
    return Grade(score, quiz.total, score >= pass_mark(quiz.total), tuple(feedback))
