"""Form fields shared by every app: numbers through the one bounded parser.

Django's own ``FloatField``/``IntegerField`` already refuse NaN and infinities;
these add the length and exponent bounds of ``portal.lib.numbers.parse_number`` so
a page form reads a typed number exactly as the API does.
"""

from __future__ import annotations

from typing import Any

from django import forms

from portal.lib.numbers import InvalidNumber, parse_number


class BoundedFloatField(forms.FloatField):
    def to_python(self, value: Any) -> float | None:
        if value in self.empty_values:
            return None
        try:
            return parse_number(value)
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc


class BoundedIntegerField(forms.IntegerField):
    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return parse_number(value, integer=True)
        except InvalidNumber as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
