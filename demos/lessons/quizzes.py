"""Lesson quizzes: read ``content/quizzes/<slug>.json`` and grade answers.

Pure module (json, math, random, unicodedata only; never Django). A quiz file holds
3–7 questions, each ``{"id", "kind": "choice" | "number", "prompt": {"en", "ko"},
"answer", "explanation": {"en", "ko"}}``. A choice question lists ``choices`` as
``{"id", "text": {"en", "ko"}, "why": {"en", "ko"}}`` (``why`` explains that
choice when picked) and its ``answer`` is a choice id; ids are stable, so a stored
answer keeps its meaning when the choices are reordered or reworded. A number
question has ``tolerance``. The page only ever gets ``public_questions`` (no
answers, choices shuffled for every attempt); ``grade`` runs on the server.

Answers arrive from the network, so ``parse_answer`` reads a number the way a
student writes it (``67,617``, ``67 617``, full-width ``６７６１７``, ``1/4``) but
refuses anything that is not a plain, finite, modest number: booleans, NaN and
infinities, strings longer than ``MAX_NUMBER_TEXT`` characters, exponents of more
than three digits and magnitudes above ``MAX_MAGNITUDE``. One unusable answer is
reported on its own question (``Feedback.error``); the others are still graded.
"""

from __future__ import annotations

import json
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from portal.lib.errors import BadInput, TranslatedBadInput, gettext_noop

QUIZZES_DIR = Path(__file__).resolve().parent / "content" / "quizzes"
LANGUAGES = ("en", "ko")
PASS_FRACTION = 0.6  # 2 of 3, 3 of 4, 3 of 5, 4 of 6, 5 of 7
MAX_NUMBER_TEXT = 32
MAX_MAGNITUDE = 1e15
CHOICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
# Every pattern below is anchored and has no nested repetition (no backtracking
# blow-up); the text is at most MAX_NUMBER_TEXT characters anyway.
NUMBER_TEXT = re.compile(
    r"^[-+]?(\d{1,16}(\.\d{0,12})?|\.\d{1,12})([eE][-+]?\d{1,3})?$"
)
# Thousands separators: a comma, a space (also no-break and thin) or an apostrophe
# between groups of exactly three digits ("67,617", "1 234 567.5").
GROUPED_TEXT = re.compile(r"^[-+]?\d{1,3}(?:[, \u00a0\u202f']\d{3}){1,5}(\.\d{1,12})?$")
GROUP_SEPARATORS = re.compile(r"[, \u00a0\u202f']")
FRACTION_TEXT = re.compile(r"^([-+]?\d{1,12}) ?/ ?(\d{1,12})$")
MINUS_SIGNS = str.maketrans({"\u2212": "-", "\u2013": "-", "\uff0d": "-"})


class QuizFormatError(BadInput):
    """A quiz file is missing or does not follow the schema."""


class InvalidAnswers(TranslatedBadInput):
    """The submitted answers are not a map of known question ids to values, or one
    answer cannot be read (``grade`` reports that one on its question)."""


@dataclass(frozen=True)
class Choice:
    id: str
    text: dict[str, str]
    why: dict[str, str]  # shown when this choice is picked


@dataclass(frozen=True)
class Question:
    id: str
    kind: str  # "choice" or "number"
    prompt: dict[str, str]
    answer: float | int | str  # a choice id for a choice question
    explanation: dict[str, str]
    choices: tuple[Choice, ...] = ()
    tolerance: float = 0.0

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


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
    error: str = ""  # why the answer given could not be read ("" when it could)
    choice: str = ""  # the id of the choice picked (a readable choice answer)
    answer_text: str = ""  # anything else as sent: a number, an unknown choice id


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


def _choice(raw: object, where: str) -> Choice:
    if not isinstance(raw, dict) or not CHOICE_ID.match(str(raw.get("id", ""))):
        raise QuizFormatError(
            f"{where}: a choice needs an 'id' like 'a' or 'eval-mode'."
        )
    return Choice(
        raw["id"],
        _text(raw.get("text"), f"{where} {raw['id']} text"),
        _text(raw.get("why"), f"{where} {raw['id']} why"),
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
        choices = tuple(_choice(c, f"{where} choice") for c in raw.get("choices") or [])
        if len(choices) < 2:
            raise QuizFormatError(f"{where}: needs 2+ choices.")
        if len({c.id for c in choices}) != len(choices):
            raise QuizFormatError(f"{where}: two choices share an id.")
        if not any(c.id == answer for c in choices):
            raise QuizFormatError(f"{where}: 'answer' is not one of the choice ids.")
        return Question(raw["id"], kind, prompt, answer, explanation, choices)
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


def public_questions(
    quiz: Quiz, lang: str, *, rng: random.Random | None = None
) -> list[dict[str, object]]:
    """What the page may see, in ``lang``: id, kind, prompt and the choices as
    ``[{"id", "text"}]`` in a fresh random order (``rng``; a new one per call, so
    every attempt sees its own order). No answers, no explanations.
    """
    rng = rng or random.Random()
    public = []
    for q in quiz.questions:
        choices = [{"id": c.id, "text": c.text[lang]} for c in q.choices]
        rng.shuffle(choices)
        public.append(
            {"id": q.id, "kind": q.kind, "prompt": q.prompt[lang], "choices": choices}
        )
    return public


def _not_a_number(question: Question, value: str) -> InvalidAnswers:
    return InvalidAnswers(
        gettext_noop(
            "%(value)s is not a number: write it like 67617, 67,617, 0.25 or 1/4."
        ),
        value=repr(value[:40]),
    )


def parse_number_text(question: Question, text: str) -> float:
    """A typed number as a float; thousands separators, full-width digits and a
    fraction are read as a student means them.

    >>> q = Question("q1", "number", {}, 67617, {})
    >>> [parse_number_text(q, t) for t in ("67,617", "67 617", "６７６１７", "1/4")]
    [67617.0, 67617.0, 67617.0, 0.25]
    """
    if len(text) > MAX_NUMBER_TEXT:
        raise _not_a_number(question, text)
    # NFKC turns full-width digits, comma, slash and dot into ASCII ones.
    plain = unicodedata.normalize("NFKC", text).translate(MINUS_SIGNS).strip()
    if NUMBER_TEXT.match(plain):
        return float(plain)
    if GROUPED_TEXT.match(plain):
        return float(GROUP_SEPARATORS.sub("", plain))
    fraction = FRACTION_TEXT.match(plain)
    if fraction:
        denominator = int(fraction[2])
        if denominator == 0:
            raise InvalidAnswers(gettext_noop("A fraction cannot divide by zero."))
        return int(fraction[1]) / denominator
    raise _not_a_number(question, text)


def parse_answer(question: Question, value: object) -> float | int | str:
    """A submitted answer: a choice id (choice question) or a number; otherwise
    ``InvalidAnswers`` saying why not.

    >>> q = Question("q1", "number", {}, 28, {}, tolerance=0.5)
    >>> parse_answer(q, "28.0"), parse_answer(q, 28), parse_answer(q, "２８")
    (28.0, 28, 28.0)
    """
    if question.kind == "choice":
        if not isinstance(value, str) or question.choice(value) is None:
            raise InvalidAnswers(gettext_noop("Choose one of the choices."))
        return value
    if isinstance(value, bool) or value is None:
        raise InvalidAnswers(gettext_noop("Type a number."))
    if isinstance(value, str):
        value = parse_number_text(question, value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidAnswers(gettext_noop("Type a finite number."))
    if abs(value) > MAX_MAGNITUDE:
        raise InvalidAnswers(gettext_noop("This number is out of range."))
    return value


def _given_text(value: object) -> str:
    """What the student sent, as text for the record (at most 64 characters)."""
    if isinstance(value, str):
        return value[:64]
    return json.dumps(value)[:64]


def grade(quiz: Quiz, answers: object, lang: str) -> Grade:
    """Mark every question; unanswered and unreadable ones count as wrong.

    ``answers`` maps question ids to a choice id (choice) or a number within
    ``tolerance`` of the answer (number). An answer that cannot be read is
    reported on its own question (``Feedback.error``) and the rest is graded;
    a non-map or unknown question ids raise ``InvalidAnswers`` (nothing graded).
    """
    if not isinstance(answers, dict):
        raise InvalidAnswers(
            gettext_noop("'answers' must map question ids to answers.")
        )
    by_id = {q.id: q for q in quiz.questions}
    unknown = [str(key)[:40] for key in answers if key not in by_id]
    if unknown:
        raise InvalidAnswers(
            gettext_noop("Unknown question ids: %(ids)s."), ids=", ".join(unknown[:5])
        )
    feedback = []
    for q in quiz.questions:
        raw = answers.get(q.id)
        given = "" if raw is None or raw == "" else _given_text(raw)
        correct, note, error, choice = False, "", "", ""
        if given:
            try:
                value = parse_answer(q, raw)
            except InvalidAnswers as exc:
                error = str(exc)
            else:
                if q.kind == "choice":
                    choice, given = str(value), ""
                    correct = choice == q.answer
                    note = q.choice(choice).why[lang]
                else:
                    tolerance = q.tolerance + 1e-9 * max(1.0, abs(float(q.answer)))
                    correct = abs(float(value) - float(q.answer)) <= tolerance
        feedback.append(
            Feedback(q.id, correct, q.explanation[lang], note, error, choice, given)
        )
    score = sum(item.correct for item in feedback)
    return Grade(score, quiz.total, score >= pass_mark(quiz.total), tuple(feedback))
