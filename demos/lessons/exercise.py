"""The detection lesson's guided exercise, "print every person one by one", checked
against the person demo's own run of the student's photo (pure: never Django).

The student runs the lesson's loop on the boxes of one of their person-demo runs
and pastes what it printed, one line per person such as

    person 1: score 0.92, box (0, 10, 110, 240), crop (230, 110, 3)
    사람 1: 점수 0.92, 박스 (0, 10, 110, 240), 크롭 (230, 110, 3)
    1번 사람: box (0, 10, 110, 240), crop (230, 110, 3), saved person_1.jpg

``parse_printed_people`` reads those lines (English or Korean). ``check_people``
matches each printed line to one of the run's stored boxes **by its box**, not by
its place in the printout, and names the bug behind each difference:

- loop bugs, seen in the list as a whole: the same box printed again and again
  (``boxes[0]`` inside the loop), only the first person (``return`` inside the
  loop), only the last person (the ``print`` after the loop), one file name for
  everybody (the file is overwritten);
- indexing bugs, seen per person: x/y order, int casts, clipping, and ``>`` where
  ``>=`` was meant;
- a threshold other than the run's ("your threshold is 0.50, this run used 0.28"),
  the numbering order, and boxes that are in no run at all (typed by hand, or from
  another photo) or a run that found nobody to crop.

Each problem is a stable code (``PROBLEM_CODES``) with parameters; the web layer
words it in the page's language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from portal.lib.errors import TranslatedBadInput, gettext_noop

MAX_TEXT = 20_000
MAX_LINE = 400  # a printed person is ~70 characters; the rest of a line is ignored
MAX_PEOPLE = 200
LESSON_THRESHOLD = 0.5  # the default of the lesson's people_one_by_one()
_NUM = r"(-?\d{1,6}(?:\.\d{1,8})?)"
_SEP = r"\s{0,3},\s{0,3}"
# "person 1", "Person #1", "사람 1", "사람1" or "1번 사람", "1번째 사람".
LINE = re.compile(
    r"(?:(?:person|사람)\s{0,3}#?\s{0,3}(?P<number>\d{1,4})(?!\d)"
    r"|(?P<number_ko>\d{1,4})\s{0,2}번(?:째)?\s{0,2}(?:사람|person))(?P<rest>.*)",
    re.IGNORECASE,
)
BOX = re.compile(
    rf"(?:box|박스|상자)[^\d(\-]{{0,8}}\(?\s{{0,3}}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}",
    re.IGNORECASE,
)
BARE_BOX = re.compile(
    rf"\(\s{{0,3}}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}{_SEP}{_NUM}\s{{0,3}}\)"
)
CROP = re.compile(
    r"(?:crop|shape|크롭|모양|크기)[^\d(]{0,12}\(?\s{0,3}(\d{1,6})\s{0,3},\s{0,3}(\d{1,6})"
    r"(?:\s{0,3},\s{0,3}(\d{1,2}))?",
    re.IGNORECASE,
)
BARE_CROP = re.compile(
    r"\(\s{0,3}(\d{1,6}),\s{0,3}(\d{1,6})(?:,\s{0,3}(\d{1,2}))?\s{0,3}\)"
)
SCORE = re.compile(r"(?:score|점수|신뢰도)[^\d]{0,4}(\d(?:\.\d{1,8})?)", re.IGNORECASE)
FILE = re.compile(r"[\w\-./]{1,80}\.(?:jpe?g|png|bmp|webp)\b", re.IGNORECASE)
HANGUL = re.compile(r"[\uac00-\ud7a3]")

Box = tuple[int, int, int, int]
FloatBox = tuple[float, float, float, float]

# Whole-list problems first, in the order they are reported; then per-person ones.
PROBLEM_CODES = (
    "nothing-to-crop",
    "not-this-run",
    "loop-index-zero",
    "loop-return",
    "loop-print-after",
    "loop-same-filename",
    "threshold-strict",
    "threshold-mismatch",
    "threshold-low-count",
    "threshold-high-count",
    "sort-order",
    "xy-order",
    "int-casts",
    "clipping",
    "wrong-box",
    "crop-size",
    "no-box",
    "no-crop",
    "missing",
    "extra",
)


class UnreadableOutput(TranslatedBadInput):
    """The pasted text holds no "person N: ... box (...) ..." line."""


@dataclass(frozen=True)
class PrintedPerson:
    number: int
    box: FloatBox | None
    crop: tuple[int, ...] | None  # (height, width[, channels]) as printed
    score: float | None = None
    file: str = ""  # a file name on the line ("person_1.jpg"), if any


@dataclass(frozen=True)
class RunPerson:
    """One box the run stored (clipped, whole pixels, any score down to the floor)."""

    box: Box
    score: float


@dataclass(frozen=True)
class Problem:
    code: str  # one of PROBLEM_CODES
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonCheck:
    number: int  # the demo's number (1-based, left to right); printed one for extras
    ok: bool
    expected_box: Box | None
    expected_crop: tuple[int, int, int] | None
    printed_box: FloatBox | None
    printed_crop: tuple[int, ...] | None
    problems: list[str] = field(default_factory=list)  # codes
    printed_number: int | None = None


@dataclass(frozen=True)
class ExerciseReport:
    passed: bool
    expected_count: int
    printed_count: int
    people: list[PersonCheck]
    problems: list[Problem]  # about the whole list
    diagnosis: str  # the main code ("" when passed)
    is_korean: bool = False  # the printout was written in Korean


def _floats(groups: tuple[str | None, ...]) -> FloatBox:
    x1, y1, x2, y2 = (float(v) for v in groups if v is not None)
    return (x1, y1, x2, y2)


def _parse_line(match: re.Match[str]) -> PrintedPerson:
    rest = match["rest"]
    box_match = BOX.search(rest) or BARE_BOX.search(rest)
    after = rest[box_match.end() :] if box_match else rest
    crop_match = CROP.search(after) or BARE_CROP.search(after)
    score_match = SCORE.search(rest)
    file_match = FILE.search(rest)
    return PrintedPerson(
        number=int(match["number"] or match["number_ko"]),
        box=_floats(box_match.groups()) if box_match else None,
        crop=tuple(int(v) for v in crop_match.groups() if v) if crop_match else None,
        score=float(score_match[1]) if score_match else None,
        file=file_match[0] if file_match else "",
    )


def parse_printed_people(text: str) -> list[PrintedPerson]:
    """Every "person N ... box (x1, y1, x2, y2) ... crop (h, w, 3)" line, in order
    (Korean "사람 N" and "N번 사람" too).

    >>> parse_printed_people("사람 1: 점수 0.92, 박스 (0, 10, 110, 240), 크롭 (230, 110, 3)")
    [PrintedPerson(number=1, box=(0.0, 10.0, 110.0, 240.0), crop=(230, 110, 3), score=0.92, file='')]
    """  # noqa: E501
    if len(text) > MAX_TEXT:
        raise UnreadableOutput(
            gettext_noop("Paste at most %(count)d characters."), count=MAX_TEXT
        )
    people = []
    for line in text.splitlines():
        match = LINE.search(line[:MAX_LINE])
        if not match:
            continue
        people.append(_parse_line(match))
        if len(people) > MAX_PEOPLE:
            raise UnreadableOutput(
                gettext_noop("At most %(count)d people, please."), count=MAX_PEOPLE
            )
    if not people:
        raise UnreadableOutput(
            gettext_noop(
                "No line like 'person 1: score 0.92, box (0, 10, 110, 240), "
                "crop (230, 110, 3)' (or '사람 1: …', '1번 사람: …') was found."
            )
        )
    return people


def is_korean(text: str) -> bool:
    """Whether the printout speaks Korean (its people lines hold Hangul)."""
    return any(
        HANGUL.search(line) and LINE.search(line[:MAX_LINE])
        for line in text[:MAX_TEXT].splitlines()
    )


# --- Matching printed lines to the run's boxes --------------------------------------


def _rounded_clipped(box: FloatBox, width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    limits = (width, height, width, height)
    x1, y1, x2, y2 = (
        int(min(max(round(v), 0), limit)) for v, limit in zip(box, limits, strict=True)
    )
    return (x1, y1, x2, y2)


def _iou(a: Box | FloatBox, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class _Match:
    index: int  # into the run's boxes
    kind: str  # "exact", "clipped", "near", "xy", "overlap"


def _match(
    printed: FloatBox, run: list[RunPerson], width: int, height: int
) -> _Match | None:
    """The run's box this printed box stands for, and how closely."""
    boxes = [person.box for person in run]
    if printed in boxes:
        return _Match(boxes.index(printed), "exact")
    fixed = _rounded_clipped(printed, width, height)
    outside = min(printed) < 0 or printed[2] > width or printed[3] > height
    if fixed in boxes:
        kind = "clipped" if outside else "near"
        return _Match(boxes.index(fixed), kind)
    x1, y1, x2, y2 = printed
    swapped = _rounded_clipped((y1, x1, y2, x2), width, height)
    if swapped in boxes and swapped != fixed:
        return _Match(boxes.index(swapped), "xy")
    close = [
        i
        for i, box in enumerate(boxes)
        if max(abs(a - b) for a, b in zip(printed, box, strict=True)) <= 1.0
    ]
    if close:
        return _Match(close[0], "near")
    best = max(range(len(boxes)), key=lambda i: _iou(printed, boxes[i]), default=None)
    if best is not None and _iou(printed, boxes[best]) >= 0.5:
        return _Match(best, "overlap")
    return None


def _numpy_shape(
    rows: tuple[float, float], cols: tuple[float, float], height: int, width: int
) -> tuple[int, int]:
    """The (height, width) numpy gives ``img[r1:r2, c1:c2]`` for an unclipped box."""
    r1, r2 = (int(v) for v in rows)
    c1, c2 = (int(v) for v in cols)
    return (len(range(height)[r1:r2]), len(range(width)[c1:c2]))


def _person_problems(
    printed: PrintedPerson, match: _Match, box: Box, width: int, height: int
) -> list[str]:
    x1, y1, x2, y2 = box
    crop = (y2 - y1, x2 - x1)
    problems: list[str] = []
    assert printed.box is not None
    px1, py1, px2, py2 = printed.box
    if match.kind == "xy":
        problems.append("xy-order")
    elif match.kind == "clipped":
        problems.append("clipping")
    elif match.kind == "overlap":
        problems.append("wrong-box")
    if any(v != int(v) for v in printed.box) or match.kind == "near":
        problems.append("int-casts")
    if printed.crop is None:
        problems.append("no-crop")
    else:
        mine = tuple(printed.crop[:2])
        swapped = _numpy_shape((px1, px2), (py1, py2), height, width)
        unclipped = _numpy_shape((py1, py2), (px1, px2), height, width)
        if mine == crop:
            pass
        elif mine in (swapped, crop[::-1]):
            problems.append("xy-order")
        elif mine == unclipped and match.kind == "clipped":
            pass  # "clipping" already says it
        elif not problems:
            problems.append("crop-size")
    return list(dict.fromkeys(problems))


def _student_threshold(kept: list[float], dropped: list[float]) -> float:
    """A threshold that keeps exactly ``kept``: the lesson's default if it does, else
    the lowest kept score (two decimals)."""
    low = max(dropped, default=-math.inf)
    high = min(kept, default=math.inf)
    if low < LESSON_THRESHOLD <= high:
        return LESSON_THRESHOLD
    return math.floor(high * 100) / 100 if kept else round(low + 0.01, 2)


def _list_problems(
    printed: list[PrintedPerson],
    matches: list[_Match | None],
    run: list[RunPerson],
    expected: list[int],
    threshold: float,
) -> list[Problem]:
    problems: list[Problem] = []
    hit = [m.index for m in matches if m is not None]
    if len(expected) >= 2:
        repeated = {i for i in hit if hit.count(i) >= 2}
        if repeated:
            problems.append(
                Problem(
                    "loop-index-zero", {"times": max(hit.count(i) for i in repeated)}
                )
            )
        elif len(printed) == 1 and hit == [expected[0]]:
            problems.append(Problem("loop-return"))
        elif len(printed) == 1 and hit == [expected[-1]]:
            problems.append(Problem("loop-print-after"))
    files = [p.file for p in printed if p.file]
    if len(files) >= 2 and len(set(files)) == 1:
        problems.append(Problem("loop-same-filename", {"file": files[0][:80]}))
    if any(
        p.code.startswith("loop-") and p.code != "loop-same-filename" for p in problems
    ):
        return problems  # the loop explains who is missing
    kept = set(hit)
    wanted = set(expected)
    if kept != wanted and kept:
        kept_scores = [run[i].score for i in kept]
        dropped_scores = [p.score for i, p in enumerate(run) if i not in kept]
        if min(kept_scores) > max(dropped_scores, default=-math.inf):
            missing = wanted - kept
            if (
                missing
                and kept < wanted
                and all(abs(run[i].score - threshold) < 1e-6 for i in missing)
            ):
                problems.append(Problem("threshold-strict", {"run": threshold}))
            else:
                yours = _student_threshold(kept_scores, dropped_scores)
                problems.append(
                    Problem("threshold-mismatch", {"yours": yours, "run": threshold})
                )
        elif len(kept) < len(wanted):
            problems.append(Problem("threshold-low-count"))
        elif len(kept) > len(wanted):
            problems.append(Problem("threshold-high-count"))
    return problems


def check_people(
    printed: list[PrintedPerson],
    run: list[RunPerson],
    *,
    threshold: float,
    width: int,
    height: int,
    korean: bool = False,
) -> ExerciseReport:
    """Hold the printout against the run.

    ``run`` is every box the run stored, left to right (the demo's order), clipped
    and in whole pixels of the ``width`` x ``height`` photo; the persons to print
    are those scoring at least ``threshold``, numbered 1, 2, ... in that order.
    """
    expected = [i for i, person in enumerate(run) if person.score >= threshold]
    if not run:
        return ExerciseReport(
            False,
            0,
            len(printed),
            [],
            [Problem("nothing-to-crop")],
            "nothing-to-crop",
            korean,
        )
    matches = [
        _match(p.box, run, width, height) if p.box is not None else None
        for p in printed
    ]
    if all(m is None for m in matches) and any(p.box is not None for p in printed):
        return ExerciseReport(
            False,
            len(expected),
            len(printed),
            [],
            [Problem("not-this-run")],
            "not-this-run",
            korean,
        )
    problems = _list_problems(printed, matches, run, expected, threshold)
    loop_bug = any(p.code.startswith("loop-") for p in problems)
    checks: list[PersonCheck] = []
    used: set[int] = set()
    for number, index in enumerate(expected, start=1):
        box = run[index].box
        crop = (box[3] - box[1], box[2] - box[0], 3)
        mine = next(
            (
                k
                for k, m in enumerate(matches)
                if m is not None and m.index == index and k not in used
            ),
            None,
        )
        if mine is None:
            checks.append(
                PersonCheck(number, False, box, crop, None, None, ["missing"])
            )
            continue
        used.add(mine)
        person, match = printed[mine], matches[mine]
        assert match is not None
        found = _person_problems(person, match, box, width, height)
        checks.append(
            PersonCheck(
                number,
                not found,
                box,
                crop,
                person.box,
                person.crop,
                found,
                person.number,
            )
        )
    # The numbering: printed numbers must follow the demo's left-to-right order.
    numbered = sorted(
        (c.printed_number, c.number) for c in checks if c.printed_number is not None
    )
    if not loop_bug and [n for _, n in numbered] != sorted(n for _, n in numbered):
        problems.append(Problem("sort-order"))
    for k, person in enumerate(printed):
        if k in used:
            continue
        match = matches[k]
        if loop_bug and match is not None:
            continue  # a repeat of someone already shown
        code = "no-box" if person.box is None else "extra"
        if match is not None and any(p.code.startswith("threshold") for p in problems):
            continue  # below the run's threshold: the threshold problem says it
        checks.append(
            PersonCheck(
                person.number,
                False,
                None,
                None,
                person.box,
                person.crop,
                [code],
                person.number,
            )
        )
    passed = not problems and all(c.ok for c in checks)
    return ExerciseReport(
        passed=passed,
        expected_count=len(expected),
        printed_count=len(printed),
        people=checks,
        problems=problems,
        diagnosis="" if passed else _diagnosis(problems, checks),
        is_korean=korean,
    )


def _diagnosis(problems: list[Problem], checks: list[PersonCheck]) -> str:
    """The one code to store: the first list problem, else the first person's
    problem in ``PROBLEM_CODES`` order."""
    if problems:
        return problems[0].code
    codes = {code for check in checks for code in check.problems}
    return next((code for code in PROBLEM_CODES if code in codes), "")
