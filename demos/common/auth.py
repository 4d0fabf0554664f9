"""Who is asking for a private file: a session, or the API token that got its URL.

The API hands out image URLs (crops, annotated photos, feature-map tiles) that are
served by plain Django views; a token client must be able to fetch them, so these
views accept ``Authorization: Token ...`` as well as the session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def requesting_user(request: HttpRequest) -> Any | None:
    """The session's user, else the API token's user, else ``None``."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0] if found else None


def login_or_token_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Like ``login_required``, but an API token also logs the request in."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = requesting_user(request)
        if user is None:
            return redirect_to_login(request.get_full_path())
        request.user = user
        return view(request, *args, **kwargs)

    return wrapper
