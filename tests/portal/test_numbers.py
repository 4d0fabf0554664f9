"""portal.lib.numbers.parse_number: the one bounded parser for typed numbers (pure)."""

from __future__ import annotations

import pytest

from portal.lib.errors import BadInput
from portal.lib.numbers import InvalidNumber, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3.0), (" -2 ", -2.0), ("0.25", 0.25), (".5", 0.5), ("2.5e-3", 0.0025)],
)
def test_reads_plain_decimals(text: str, expected: float) -> None:
    assert parse_number(text) == expected


def test_reads_fractions_only_when_asked() -> None:
    assert parse_number("1/8", allow_fraction=True) == 0.125
    with pytest.raises(InvalidNumber):
        parse_number("1/8")


def test_reads_whole_numbers_exactly() -> None:
    assert parse_number("1234567890123457", integer=True) == 1234567890123457
    assert parse_number("2.0", integer=True) == 2
    with pytest.raises(InvalidNumber, match="whole number"):
        parse_number("2.5", integer=True)


@pytest.mark.parametrize(
    "raw",
    [
        "1e-99999999",
        "1e400",
        "-1e400",
        "9.99e300" + "9" * 20,
        "NaN",
        "inf",
        "-Infinity",
        "9" * 5000,
        "0x1F",
        "1_000",
        "",
        "1/0",
        "1/1e-99999999",
        True,
        None,
        [1],
        float("nan"),
        float("inf"),
        10**400,
    ],
    ids=repr,
)
def test_refuses_hostile_numbers_with_a_bad_input_error(raw: object) -> None:
    with pytest.raises(BadInput):
        parse_number(raw, allow_fraction=True)


def test_refusal_says_what_a_number_may_look_like() -> None:
    with pytest.raises(InvalidNumber) as caught:
        parse_number("1e400")
    assert "at most 32 characters" in str(caught.value)
    assert "±300" in str(caught.value)


def test_checks_the_range_it_is_given() -> None:
    assert parse_number("1", minimum=0, maximum=1) == 1.0
    with pytest.raises(InvalidNumber, match="at most 1"):
        parse_number("1.5", maximum=1)
    with pytest.raises(InvalidNumber, match="at least 0"):
        parse_number("-0.1", minimum=0)


def test_json_numbers_pass_through_when_finite_and_bounded() -> None:
    assert parse_number(3) == 3.0
    assert parse_number(7, integer=True) == 7
    assert parse_number(0.5) == 0.5
