"""Question and choice texts of a lesson quiz, for the instructor's item analysis.

Pure (never Django): takes the ``Question`` objects of ``demos.lessons.quizzes``.
A ``QuizAnswer`` row stores the *id* of the chosen choice. Quiz files written
before choices had ids keep them as plain ``{"en", "ko"}`` texts: their id is
the choice's index as text ("0", "1", ...). Newer files give each choice an
``"id"`` (a dict key or an attribute); both shapes are read here, so the item
analysis does not care which one a quiz file uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def choice_id(choice: Any, index: int) -> str:
    """The stable id of ``choice``, the ``index``-th choice of its question.

    >>> choice_id({"en": "A", "ko": "가"}, 2), choice_id({"id": "b", "en": "B"}, 0)
    ('2', 'b')
    """
    if isinstance(choice, dict):
        value = choice.get("id")
    else:
        value = getattr(choice, "id", None)
    return str(value) if value not in (None, "") else str(index)


def _in_language(texts: Any, lang: str) -> str:
    if isinstance(texts, str):
        return texts
    if isinstance(texts, dict):
        value = texts.get(lang) or texts.get("en") or ""
        return value if isinstance(value, str) else _in_language(value, lang)
    return str(getattr(texts, lang, "") or getattr(texts, "en", "") or "")


def choice_text(choice: Any, lang: str) -> str:
    """The text of one choice in ``lang`` ("ko" or "en"), whatever its shape:
    ``{"en", "ko"}``, ``{"id", "en", "ko"}``, ``{"id", "text": {"en", "ko"}}`` or an
    object with such attributes."""
    if isinstance(choice, dict):
        nested = choice.get("text") or choice.get("label")
        return _in_language(nested if nested is not None else choice, lang)
    nested = getattr(choice, "text", None) or getattr(choice, "label", None)
    return _in_language(nested if nested is not None else choice, lang)


def find_choice_text(choices: Iterable[Any], wanted_id: str, lang: str) -> str | None:
    """The text of the choice whose id is ``wanted_id``; None if no choice has it.

    >>> find_choice_text([{"en": "no", "ko": "아니요"}, {"en": "yes", "ko": "예"}], "1", "ko")
    '예'
    """  # noqa: E501
    for index, choice in enumerate(choices):
        if choice_id(choice, index) == wanted_id:
            return choice_text(choice, lang)
    return None


def prompt_text(question: Any, lang: str) -> str:
    """A question's prompt in ``lang`` (``Question.prompt`` is ``{"en", "ko"}``)."""
    return _in_language(getattr(question, "prompt", ""), lang)
