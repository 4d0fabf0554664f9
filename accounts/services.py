"""Every write to accounts goes through here."""

from __future__ import annotations

from django.db import transaction

from accounts.models import User


@transaction.atomic
def create_user(
    *, username: str, password: str, email: str = "", display_name: str = ""
) -> User:
    user = User(username=username, email=email, display_name=display_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def update_profile(*, user: User, display_name: str) -> User:
    user.display_name = display_name.strip()
    user.full_clean()
    user.save(update_fields=["display_name"])
    return user
