"""Who may see an owned row: its owner, and staff. Everyone else gets a 404.

Runs and jobs (and anything else with ``owner`` and ``public_id``) are fetched
through these two functions, so the rule and the malformed-id handling live in one
place: a 404, never a 403 (which would confirm that the row exists).
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

OwnedModel = TypeVar("OwnedModel", bound=Model)


def visible_to(
    user: AbstractBaseUser | AnonymousUser, rows: QuerySet[OwnedModel]
) -> QuerySet[OwnedModel]:
    """Staff see every row, a student only their own, an anonymous visitor none."""
    if not user.is_authenticated:
        return rows.none()
    return rows if user.is_staff else rows.filter(owner=user)


def get_owned_or_404(
    user: AbstractBaseUser | AnonymousUser,
    rows: QuerySet[OwnedModel],
    public_id: uuid.UUID | str,
    *,
    missing: str,
) -> OwnedModel:
    """The row with this public id if ``user`` may see it, else ``Http404``.

    A malformed id (not a UUID) is a 404 too, whatever the database backend says;
    ``missing`` is the 404's message (the API shows it as ``detail``).
    """
    try:
        return visible_to(user, rows).get(public_id=public_id)
    except (rows.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404(missing) from exc
