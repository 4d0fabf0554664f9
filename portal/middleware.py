"""Response headers every page gets: a strict Content-Security-Policy and nosniff."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The API docs page (Swagger UI) needs an inline bootstrap script of its own.
        if not request.path.startswith("/api/docs/"):
            response.headers.setdefault(
                "Content-Security-Policy", settings.CONTENT_SECURITY_POLICY
            )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
