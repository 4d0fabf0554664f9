"""Every write to accounts goes through here."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from knox.models import AuthToken

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


class TooManyTokens(Exception):
    """The user already holds ``REST_KNOX["TOKEN_LIMIT_PER_USER"]`` live tokens."""


@transaction.atomic
def create_api_token(*, user: User) -> tuple[AuthToken, str]:
    """A new API token for ``user`` (its row and the secret shown once), or
    ``TooManyTokens`` at the README's limit of live (unexpired) tokens."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one at a time
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    live = AuthToken.objects.filter(user=user, expiry__gt=timezone.now())
    if limit is not None and live.count() >= limit:
        raise TooManyTokens(limit)
    return AuthToken.objects.create(user=user)


@transaction.atomic
def revoke_api_tokens(*, user: User) -> int:
    """Delete every API token of ``user`` (after a password change, a log-out-all)."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def log_out_everywhere(*, user: User) -> None:
    """End every session and revoke every API token of ``user``.

    Raising ``session_epoch`` changes the hash every session of the user was signed
    with, so each stops verifying on its next request: one row written, however
    many sessions the table holds (the dead rows go with ``clearsessions``).
    """
    revoke_api_tokens(user=user)
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])
