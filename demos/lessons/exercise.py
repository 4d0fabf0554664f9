"""The detection lesson's guided exercise, "print every person one by one", checked
against the person demo's own crops of the student's photo (pure: never Django).

The student runs the lesson's loop on the boxes of one of their person-demo runs
and pastes what it printed, one line per person such as

    person 1: score 0.92, box (0, 10, 110, 240), crop (230, 110, 3)

``parse_printed_people`` reads those lines; ``check_people`` compares them with the
demo's persons (same threshold, left to right, boxes clipped and rounded, crops
``img[y1:y2, x1:x2]``) and names the classic bug behind each difference: x/y order,
int casts (rounding), clipping, the threshold and the sort order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from portal.lib.errors import BadInput

MAX_TEXT = 20_000
MAX_PEOPLE = 200
_INT = r"(-?\d{1,6}(?:\.\d+)?)"
LINE = re.compile(r"person\s*#?\s*(?P<number>\d{1,4})\b(?P<rest>.*)", re.IGNORECASE)
BOX = re.compile(
    rf"box\W*\(?\s*{_INT}\s*,\s*{_INT}\s*,\s*{_INT}\s*,\s*{_INT}\s*\)?", re.IGNORECASE
)
CROP = re.compile(
    r"(?:crop|shape)\W*\(?\s*(\d{1,6})\s*,\s*(\d{1,6})(?:\s*,\s*(\d{1,2}))?\s*\)?",
    re.IGNORECASE,
)

Box = tuple[int, int, int, int]


class UnreadableOutput(BadInput):
    """The pasted text holds no "person N: ... box (...) ..." line."""


@dataclass(frozen=True)
class PrintedPerson:
    number: int
    box: tuple[float, float, float, float] | None
    crop: tuple[int, ...] | None  # (height, width[, channels]) as printed


@dataclass(frozen=True)
class PersonCheck:
    number: int
    ok: bool
    expected_box: Box | None
    expected_crop: tuple[int, int, int] | None
    printed_box: tuple[float, float, float, float] | None
    printed_crop: tuple[int, ...] | None
    problems: list[str] = field(default_factory=list)  # keys of PROBLEMS


@dataclass(frozen=True)
class ExerciseReport:
    passed: bool
    expected_count: int
    printed_count: int
    people: list[PersonCheck]
    problems: list[str]  # keys of PROBLEMS about the whole list


def parse_printed_people(text: str) -> list[PrintedPerson]:
    """Every "person N ... box (x1, y1, x2, y2) ... crop (h, w, 3)" line, in order.

    >>> parse_printed_people("person 1: score 0.92, box (0, 10, 110, 240), crop (230, 110, 3)")
    [PrintedPerson(number=1, box=(0.0, 10.0, 110.0, 240.0), crop=(230, 110, 3))]
    """  # noqa: E501
    if len(text) > MAX_TEXT:
        raise UnreadableOutput(f"Paste at most {MAX_TEXT} characters.")
    people = []
    for line in text.splitlines():
        match = LINE.search(line)
        if not match:
            continue
        box = BOX.search(match["rest"])
        crop = CROP.search(match["rest"][box.end() :] if box else match["rest"])
        people.append(
            PrintedPerson(
                number=int(match["number"]),
                box=tuple(float(v) for v in box.groups()) if box else None,
                crop=tuple(int(v) for v in crop.groups() if v) if crop else None,
            )
        )
        if len(people) > MAX_PEOPLE:
            raise UnreadableOutput(f"At most {MAX_PEOPLE} people, please.")
    if not people:
        raise UnreadableOutput(
            "No line like 'person 1: score 0.92, box (0, 10, 110, 240), "
            "crop (230, 110, 3)' was found."
        )
    return people


def _problems_of(
    printed: PrintedPerson, box: Box, width: int, height: int, others: list[Box]
) -> list[str]:
    x1, y1, x2, y2 = box
    crop = (y2 - y1, x2 - x1)
    problems: list[str] = []
    if printed.box is None:
        problems.append("no-box")
    else:
        px1, py1, px2, py2 = printed.box
        if any(v != int(v) for v in printed.box):
            problems.append("int-casts")
        elif min(printed.box) < 0 or px2 > width or py2 > height:
            problems.append("clipping")
        elif tuple(int(v) for v in printed.box) != box:
            if tuple(int(v) for v in printed.box) in others:
                problems.append("sort-order")
            elif (py1, px1, py2, px2) == box:
                problems.append("xy-order")
            elif max(abs(a - b) for a, b in zip(printed.box, box, strict=True)) <= 1:
                problems.append("int-casts")
            else:
                problems.append("wrong-box")
    if printed.crop is None:
        problems.append("no-crop")
    elif tuple(printed.crop[:2]) != crop:
        if tuple(printed.crop[:2]) == crop[::-1]:
            problems.append("xy-order")
        elif printed.box is not None and "clipping" not in problems:
            problems.append("crop-size")
    return list(dict.fromkeys(problems))


def check_people(
    printed: list[PrintedPerson], expected: list[Box], *, width: int, height: int
) -> ExerciseReport:
    """Compare the printed people with the demo's (``expected``: left to right, at
    the run's threshold, clipped and rounded, in pixels of the ``width`` x
    ``height`` photo). Person N of the printout is held against person N."""
    by_number = {person.number: person for person in printed}
    checks = []
    for number, box in enumerate(expected, start=1):
        x1, y1, x2, y2 = box
        crop = (y2 - y1, x2 - x1, 3)
        mine = by_number.get(number)
        others = [b for b in expected if b != box]
        problems = (
            ["missing"]
            if mine is None
            else _problems_of(mine, box, width, height, others)
        )
        checks.append(
            PersonCheck(
                number,
                not problems,
                box,
                crop,
                mine.box if mine else None,
                mine.crop if mine else None,
                problems,
            )
        )
    extra = [p for p in printed if not 1 <= p.number <= len(expected)]
    for person in extra:
        checks.append(
            PersonCheck(
                person.number, False, None, None, person.box, person.crop, ["extra"]
            )
        )
    overall: list[str] = []
    if len(by_number) < len(expected):
        overall.append("threshold-low-count")
    elif extra:
        overall.append("threshold-high-count")
    return ExerciseReport(
        passed=not overall and all(check.ok for check in checks),
        expected_count=len(expected),
        printed_count=len(printed),
        people=checks,
        problems=overall,
    )
