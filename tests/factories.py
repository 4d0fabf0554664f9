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


def make_api_token(user: User) -> str:
    """A fresh API token for ``user`` (knox keeps its digest; this is the secret)."""
    from knox.models import AuthToken

    _instance, token = AuthToken.objects.create(user)
    return token
