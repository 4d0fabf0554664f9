"""Choice texts by choice id, for quiz files with and without choice ids."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from demos.teach.questions import choice_id, find_choice_text, prompt_text

OLD_SHAPE = [{"en": "no", "ko": "아니요"}, {"en": "yes", "ko": "예"}]
NEW_SHAPE = [
    {"id": "a", "en": "no", "ko": "아니요"},
    {"id": "b", "en": "yes", "ko": "예"},
]
NESTED_SHAPE = [
    {"id": "a", "text": {"en": "no", "ko": "아니요"}},
    {"id": "b", "text": {"en": "yes", "ko": "예"}},
]


@dataclass(frozen=True)
class Choice:
    id: str
    text: dict[str, str]


@dataclass(frozen=True)
class Question:
    prompt: dict[str, str]


def test_a_choice_without_an_id_is_known_by_its_index() -> None:
    assert [choice_id(c, i) for i, c in enumerate(OLD_SHAPE)] == ["0", "1"]
    assert find_choice_text(OLD_SHAPE, "1", "ko") == "예"
    assert find_choice_text(OLD_SHAPE, "0", "en") == "no"


def test_a_choice_with_an_id_is_known_by_it() -> None:
    assert find_choice_text(NEW_SHAPE, "b", "ko") == "예"
    assert find_choice_text(NESTED_SHAPE, "a", "en") == "no"
    assert find_choice_text(NEW_SHAPE, "1", "ko") is None


def test_choice_objects_with_attributes_work_too() -> None:
    choices = [Choice("x", {"en": "left", "ko": "왼쪽"})]
    assert find_choice_text(choices, "x", "ko") == "왼쪽"


def test_an_unknown_id_finds_nothing() -> None:
    assert find_choice_text(OLD_SHAPE, "7", "ko") is None


def test_the_prompt_is_read_in_the_language_asked() -> None:
    question = Question({"en": "Why?", "ko": "왜?"})
    assert prompt_text(question, "ko") == "왜?"
    assert prompt_text(question, "fr") == "Why?"


def test_the_module_imports_without_django() -> None:
    code = "import sys, demos.teach.questions; print('django' in sys.modules)"
    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True
    )
    assert result.stdout.strip() == "False", result.stderr
