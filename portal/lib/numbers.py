"""The one parser for numbers a user types: bounded in length, exponent and size.

Python's own parsers are unbounded in the wrong places: ``Fraction("1e-99999999")``
builds a 100-million-digit integer while holding the GIL (one request froze a
worker for minutes), ``float(Fraction("1e400"))`` raises ``OverflowError``, and
``float("nan")`` is a number nobody meant. ``parse_number`` looks at the text
first (at most ``MAX_NUMBER_LENGTH`` characters, a plain decimal with an exponent
of at most ``MAX_EXPONENT``, optionally ``a/b``), so the cost of a refusal is a
regular expression. Pure module: imports nothing from Django.
"""

from __future__ import annotations

import math
import re

from portal.lib.errors import TranslatedBadInput, gettext_noop

MAX_NUMBER_LENGTH = 32
MAX_EXPONENT = 300
# Integers past 2**53 are no longer exact as floats; nothing here needs them.
MAX_INTEGER = 2**53

_DECIMAL = re.compile(
    r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE](?P<exponent>[+-]?\d{1,6}))?", re.ASCII
)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)

NUMBER_HELP = gettext_noop(
    "Type a plain number like 3, -2, 0.25 or 2.5e-3 (at most %(length)d "
    "characters, exponent within ±%(exponent)d)."
)


class InvalidNumber(TranslatedBadInput):
    """Typed text is not a number this portal accepts; the message says which are."""


def _refuse() -> InvalidNumber:
    return InvalidNumber(NUMBER_HELP, length=MAX_NUMBER_LENGTH, exponent=MAX_EXPONENT)


def _decimal(text: str) -> float:
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise _refuse()
    exponent = match["exponent"]
    if exponent is not None and abs(int(exponent)) > MAX_EXPONENT:
        raise _refuse()
    value = float(text)
    if not math.isfinite(value):  # 9.9e300 with more digits can still overflow
        raise _refuse()
    return value


def _from_text(text: str, *, allow_fraction: bool, integer: bool) -> float | int:
    text = text.strip()
    if not text or len(text) > MAX_NUMBER_LENGTH:
        raise _refuse()
    if integer and _INTEGER.fullmatch(text):
        return int(text)  # exact, and at most 32 digits
    top, slash, bottom = text.partition("/")
    if slash and not allow_fraction:
        raise _refuse()
    value = _decimal(top)
    if slash:
        divisor = _decimal(bottom)
        if divisor == 0:
            raise InvalidNumber(gettext_noop("A fraction cannot divide by zero."))
        value = value / divisor
        if not math.isfinite(value):
            raise _refuse()
    return value


def parse_number(
    raw: object,
    *,
    allow_fraction: bool = False,
    integer: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float | int:
    """Read one user-typed number (text, or an int/float from a JSON body).

    Returns a finite ``float``, or an ``int`` with ``integer=True`` (refusing any
    fractional part). ``allow_fraction`` accepts ``a/b`` (both sides plain
    decimals, ``b != 0``). Raises ``InvalidNumber`` (a ``BadInput``: HTTP 400) for
    anything else: NaN, infinities, ``1e400``, ``1e-99999999``, more than 32
    characters, hex, underscores, booleans, integers beyond 2**53.

    >>> parse_number("1/8", allow_fraction=True)
    0.125
    >>> parse_number("2.0", integer=True)
    2
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _refuse()
    if isinstance(raw, str):
        value = _from_text(raw, allow_fraction=allow_fraction, integer=integer)
    elif isinstance(raw, float) and not math.isfinite(raw):
        raise _refuse()
    else:
        value = raw
    if abs(value) > MAX_INTEGER and (integer or isinstance(value, int)):
        raise _refuse()
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise InvalidNumber(gettext_noop("Type a whole number, like 3 or -2."))
            value = int(value)
    else:
        value = float(value)
    if minimum is not None and value < minimum:
        raise InvalidNumber(
            gettext_noop("Type a number of at least %(minimum)s."), minimum=minimum
        )
    if maximum is not None and value > maximum:
        raise InvalidNumber(
            gettext_noop("Type a number of at most %(maximum)s."), maximum=maximum
        )
    return value
