"""No regular expression that reads user text can stall a worker (issue 21, finding 1).

A paste of "person 1 box" + 20,000 spaces made the exercise checker's patterns
backtrack for ~6 s of a worker. Here every pattern of the project that sees user
text gets long runs of spaces, digits, separators and keywords, both through the
function that reads the text (which bounds its length first) and directly (so the
bound is not the only defence), each call within a CPU-time budget.

The budget is a hang guard, not a speed assertion: the linear patterns answer in
about a millisecond, a backtracking one in seconds. The census at the top makes a
new regex fail this test until it is listed here, fuzzed or said not to see user
text.
"""

from __future__ import annotations

import ast
import contextlib
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import OperationalError

from accounts import services as account_services
from demos.lessons import code_checks, exercise, quizzes
from demos.ml import playgrounds
from demos.widgets import maps as feature_maps
from portal.lib import faults, numbers
from portal.lib.errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("accounts", "demos", "models_store", "portal")
REGEX_FUNCTIONS = {
    "compile",
    "match",
    "search",
    "fullmatch",
    "split",
    "sub",
    "subn",
    "findall",
    "finditer",
}
BUDGET_SECONDS = 0.25  # CPU time per call; the old exercise patterns took ~6 s

# Module → number of regex call sites in it. Those in FUZZED read user text.
FUZZED = {
    "demos/lessons/exercise.py": 8,  # pasted printouts
    "demos/lessons/code_checks.py": 2,  # names in pasted code
    "demos/lessons/quizzes.py": 5,  # typed answers
    "demos/ml/playgrounds.py": 2,  # typed kernels
    "demos/widgets/maps.py": 2,  # digests and file names from URLs
    "accounts/services.py": 1,  # typed join codes
    "portal/lib/numbers.py": 2,  # every typed number
    "portal/lib/faults.py": 1,  # database error text, which may quote user values
}
NOT_USER_TEXT = {
    "demos/lessons/loading.py": 4,  # the course's own Markdown files
    "demos/lessons/formulas.py": 7,  # the course's Markdown and KaTeX's own output
    "demos/lessons/notebooks.py": 4,  # the course's own Markdown files
}


def regex_call_sites() -> dict[str, int]:
    found: dict[str, int] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            count = sum(
                1
                for node in ast.walk(tree)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"
                and node.func.attr in REGEX_FUNCTIONS
            )
            if count:
                found[path.relative_to(ROOT).as_posix()] = count
    return found


def test_every_regex_in_the_project_is_listed_here() -> None:
    assert regex_call_sites() == FUZZED | NOT_USER_TEXT, (
        "A regular expression was added or removed: list it in FUZZED (and give "
        "its reader to READERS) or, if it never sees user text, in NOT_USER_TEXT."
    )


PREFIXES = [
    "",
    "person",
    "person 1",
    "person 1 box",
    "person 1: score 0.9, box (",
    "person 1: box (1, 2, 3",
    "person #1 crop",
    "person 1: box (0, 1, 2, 3), crop (1",
    "shape (1, 2",
    "box (-1.",
    "1",
    "-1.",
    ".5e",
    "1/",
    "0 -1 0;",
    "input",
    "layer.c1",
    "no such column ",
    "relation ",
]
FILLERS = [" ", "\t", "1", "0.", "1 ", " ,", ",", "-", "(", "a", "#", "box ", "1.1"]
SUFFIXES = ["", "!", "x\n"]
LENGTH = 20_000  # the exercise's own limit; the other readers refuse it sooner


def hostile_texts() -> list[str]:
    texts = []
    for prefix in PREFIXES:
        for filler in FILLERS:
            for suffix in SUFFIXES:
                body = filler * ((LENGTH - len(prefix)) // len(filler))
                texts.append((prefix + body)[: LENGTH - len(suffix)] + suffix)
    return texts


def _exercise(text: str) -> object:
    return exercise.parse_printed_people(text)


def _quiz_answer(text: str) -> object:
    question = quizzes.Question("q1", "number", {}, 28, {}, tolerance=0.5)
    return quizzes.parse_answer(question, text)


def _feature_map_file(text: str) -> object:
    return feature_maps.map_file(feature_maps.PUBLIC, "0" * 40, text, None)


READERS: dict[str, Callable[[str], object]] = {
    "exercise printout": _exercise,
    "pasted code": code_checks.check_code,
    "join code": account_services.normalise_join_code,
    "quiz answer": _quiz_answer,
    "kernel": playgrounds.parse_kernel,
    "number": numbers.parse_number,
    "fraction": lambda text: numbers.parse_number(text, allow_fraction=True),
    "integer": lambda text: numbers.parse_number(text, integer=True),
    "feature-map digest": lambda text: feature_maps.run_dir("sample", text, None),
    "feature-map file": _feature_map_file,
    "database error": lambda text: faults.is_configuration_error(
        OperationalError(text)
    ),
}

PATTERN_MODULES = [exercise, code_checks, quizzes, feature_maps, numbers, faults]


def module_patterns() -> list[tuple[str, re.Pattern[str]]]:
    return [
        (f"{module.__name__}.{name}", value)
        for module in PATTERN_MODULES
        for name, value in vars(module).items()
        if isinstance(value, re.Pattern)
    ]


def cpu_seconds(call: Callable[[], object]) -> float:
    start = time.process_time()
    # A clear refusal is a fine answer; only the time counts here.
    with contextlib.suppress(BadInput, FileNotFoundError, ValueError):
        call()
    return time.process_time() - start


@pytest.mark.parametrize("reader", READERS, ids=list(READERS))
def test_readers_of_user_text_answer_hostile_text_at_once(
    reader: str, settings, tmp_path: Path
) -> None:
    settings.FEATURE_MAP_CACHE_DIR = tmp_path
    for text in hostile_texts():
        seconds = cpu_seconds(lambda text=text: READERS[reader](text))
        assert seconds <= BUDGET_SECONDS, f"{reader}: {seconds:.2f} s on {text[:40]!r}"


def test_the_module_patterns_themselves_cannot_backtrack() -> None:
    patterns = module_patterns()
    assert len(patterns) >= 9  # LINE, BOX, CROP, NUMBER_TEXT, _DIGEST, _FILE, ...
    for text in hostile_texts():
        for name, pattern in patterns:
            for method in (pattern.search, pattern.match, pattern.fullmatch):
                seconds = cpu_seconds(lambda method=method, text=text: method(text))
                assert seconds <= BUDGET_SECONDS, (
                    f"{name}.{method.__name__}: {seconds:.2f} s on {text[:30]!r}"
                )
