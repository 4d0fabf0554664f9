"""Widget ``session-inspector`` (lesson 15): what the session cookie carries."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class SessionInspectorApi(APIView):
    """GET → the student's own session: cookie flags and masked value, the
    ``django_session`` row's expiry and key names, the user it points to."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        response = Response(session_facts(request))
        response["Cache-Control"] = "private, no-store"
        return response


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("session/", SessionInspectorApi.as_view(), name="session-inspector"),
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
