"""Plain ``make_<model>(**overrides)`` functions for tests."""

from __future__ import annotations

from typing import Any

from accounts.models import User

DEFAULT_PASSWORD = "correct-horse-battery-9"


def make_user(**overrides: Any) -> User:
    password = overrides.pop("password", DEFAULT_PASSWORD)
    fields = {"username": "student", "email": "", "display_name": ""} | overrides
    user = User(**fields)
    user.set_password(password)
    user.save()
    return user
