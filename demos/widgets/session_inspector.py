"""Widget ``session-inspector`` (lesson 15): what the session cookie carries, what
a tampered cookie resolves to, and logging out the student's other sessions.

Tampering is a sandbox: the server alters a copy of the request's own cookie value
and resolves it read-only, the way ``AuthenticationMiddleware`` would (row, user id,
session hash), without touching the student's session or anyone else's. Nothing of
another user's session is ever shown. Logging out elsewhere is the accounts'
``log_out_everywhere`` (the per-user session generation), after which this session
is re-signed so the student stays logged in here.
"""

from __future__ import annotations

import string
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    update_session_auth_hash,
)
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.urls import path
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import log_out_everywhere

# Django's session keys: 32 characters of this alphabet (get_random_string).
KEY_ALPHABET = string.ascii_lowercase + string.digits


class SessionInspectorApi(APIView):
    """GET → the student's own session: cookie flags and masked value, the
    ``django_session`` row's expiry and key names, the user it points to."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        response = Response(session_facts(request))
        response["Cache-Control"] = "private, no-store"
        return response


def session_store(key: str | None) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)


def resolve_session_key(key: str, *, owner: AbstractBaseUser) -> dict[str, Any]:
    """Which user a session key maps to, decided as ``AuthenticationMiddleware``
    does (a stored session, a user id in it, that user's session hash), read only:
    nothing is written, flushed or created, whatever the key.

    Only the requesting ``owner`` is ever named: a key that resolves to anyone
    else (one in 36**32) says so and nothing more.
    """
    data = session_store(key).load()  # {} when no live session has this key
    user_id = data.get(SESSION_KEY)
    backend_ok = data.get(BACKEND_SESSION_KEY) in settings.AUTHENTICATION_BACKENDS
    user = None
    if user_id is not None and backend_ok:
        user = get_user_model()._default_manager.filter(pk=user_id).first()
    hash_ok = user is not None and constant_time_compare(
        data.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash()
    )
    if not data:
        reason = "no-session"
    elif user is None:
        reason = "no-user"
    elif not hash_ok:
        reason = "old-hash"
    else:
        reason = "valid"
    is_you = reason == "valid" and user is not None and user.pk == owner.pk
    name = owner.get_username() if is_you else AnonymousUser.__name__
    return {
        "session_found": bool(data),
        "has_user_id": user_id is not None,
        "hash_valid": hash_ok,
        "reason": reason,
        "user": name if reason != "valid" or is_you else "",
        "is_you": is_you,
        "someone_else": reason == "valid" and not is_you,
    }


def alter_key(key: str, position: int, character: str) -> str:
    """``key`` with its character at ``position`` (0-based) replaced; a
    ``ValidationError`` naming the field when there is nothing to alter."""
    if not key:
        raise serializers.ValidationError(
            gettext("Your browser sent no session cookie to alter.")
        )
    if position >= len(key):
        raise serializers.ValidationError(
            {"position": [gettext("The cookie has only %d characters.") % len(key)]}
        )
    if key[position] == character:
        raise serializers.ValidationError(
            {
                "character": [
                    gettext(
                        "That character is already there: pick a different one "
                        "to alter the cookie."
                    )
                ]
            }
        )
    return key[:position] + character + key[position + 1 :]


class SessionTamperApi(APIView):
    """POST one changed character of your own session cookie → the user that
    altered cookie would be (``AnonymousUser``), decided read-only: your session
    and everyone else's stay as they were."""

    # The browser's session only (a token has no cookie to alter); CSRF enforced.
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        position = serializers.IntegerField(min_value=0, max_value=39)
        character = serializers.ChoiceField(choices=list(KEY_ALPHABET))

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sent = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        position = data.validated_data["position"]
        altered = alter_key(sent, position, data.validated_data["character"])
        body = {
            "position": position,
            "character": data.validated_data["character"],
            # Only the shown part: the rest of the altered value is your real key.
            "altered_preview": mask_session_key(altered),
            "result": resolve_session_key(altered, owner=request.user),
            "yours": resolve_session_key(sent, owner=request.user),
        }
        response = Response(body)
        response["Cache-Control"] = "private, no-store"
        return response


class SessionLogoutElsewhereApi(APIView):
    """POST → end every other session of yours (accounts' log-out-everywhere:
    the session generation goes up, API tokens are revoked), then re-sign this
    session so this browser stays logged in."""

    authentication_classes = [SessionAuthentication]  # CSRF enforced
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        user = request.user
        old_key = request.session.session_key or ""
        before = user.session_epoch
        log_out_everywhere(user=user)
        # What another browser still holding the old cookie now gets.
        old_session = resolve_session_key(old_key, owner=user)
        update_session_auth_hash(request, user)  # new key, new hash: stay here
        response = Response(
            {
                "epoch_before": before,
                "epoch_after": user.session_epoch,
                "old_key_preview": mask_session_key(old_key),
                "old_session": old_session,
                "new_key_preview": mask_session_key(request.session.session_key or ""),
                "tokens_revoked": True,
            }
        )
        response["Cache-Control"] = "private, no-store"
        return response


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("session/", SessionInspectorApi.as_view(), name="session-inspector"),
    path("session/tamper/", SessionTamperApi.as_view(), name="session-tamper"),
    path(
        "session/logout-elsewhere/",
        SessionLogoutElsewhereApi.as_view(),
        name="session-logout-elsewhere",
    ),
]


def session_facts(request: HttpRequest) -> dict[str, Any]:
    """What the server knows about this request's session, safe to show its owner.

    The cookie's name, flags and masked value; the ``django_session`` row's expiry,
    size and the *names* of the keys stored in it (never their values, never the
    whole session key); the user id the row points to and the middlewares that
    turned the cookie into ``request.user``.
    """
    cookie_name = settings.SESSION_COOKIE_NAME
    sent = request.COOKIES.get(cookie_name, "")
    key = request.session.session_key or ""
    row = Session.objects.filter(session_key=key).first() if key else None
    stored = dict(request.session.items()) if key else {}
    middleware = list(settings.MIDDLEWARE)
    now = timezone.now()
    return {
        "cookie": {
            "name": cookie_name,
            "sent": bool(sent),
            "value_preview": mask_session_key(sent),
            "length": len(sent),
            "alphabet": "a-z0-9" if sent and set(sent) <= set(KEY_ALPHABET) else "",
            "matches_session": bool(sent) and sent == key,
            "http_only": settings.SESSION_COOKIE_HTTPONLY,
            "secure": settings.SESSION_COOKIE_SECURE,
            "same_site": settings.SESSION_COOKIE_SAMESITE or "",
            "max_age_days": settings.SESSION_COOKIE_AGE // 86400,
        },
        "row": {
            "table": Session._meta.db_table,
            "engine": settings.SESSION_ENGINE,
            "found": row is not None,
            "key_preview": mask_session_key(key),
            "expire_date": row.expire_date.isoformat() if row else None,
            "seconds_left": (
                max(0, int((row.expire_date - now).total_seconds())) if row else None
            ),
            "data_length": len(row.session_data) if row else 0,
            "keys": sorted(stored),
            "user_id": str(stored.get("_auth_user_id", "")),
        },
        "user": {
            "id": request.user.pk,
            "username": request.user.get_username(),
            "is_authenticated": request.user.is_authenticated,
            "matches_row": str(request.user.pk) == str(stored.get("_auth_user_id")),
            "session_epoch": getattr(request.user, "session_epoch", 0),
        },
        "middleware": [
            {"name": name, "position": middleware.index(name) + 1}
            for name in (SESSION_MIDDLEWARE, AUTH_MIDDLEWARE)
            if name in middleware
        ],
    }


SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"


AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def mask_session_key(key: str) -> str:
    """The first ``KEY_PREVIEW`` characters and an ellipsis; never the whole key.

    >>> mask_session_key("abcdefghijklmnopqrstuvwxyz012345")
    'abcdefgh…'
    """
    return f"{key[:KEY_PREVIEW]}…" if key else ""


KEY_PREVIEW = 8  # characters of the session key shown, as on the profile page
