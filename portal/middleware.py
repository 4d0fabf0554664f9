"""Response headers every page gets (strict CSP, nosniff); temporary failures → 503."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from portal.faults import (
    RETRY_AFTER_SECONDS,
    configuration_error_message,
    is_configuration_error,
    temporary_failure_message,
)

logger = logging.getLogger(__name__)


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


class TemporaryFailureMiddleware:
    """A locked or vanished database, or a full disk, → 503 "try again", logged.

    Only exceptions from views reach ``process_exception``; the services have
    already removed their partial files and rolled back their rows by then. The
    page is rendered without the request (no user or session lookups), because
    the database that just failed may fail again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if is_configuration_error(exception) or isinstance(
            exception, ImproperlyConfigured
        ):
            # Not "try again": migrate or a setting is missing. Pages get Django's
            # 500 page (django.request logs it); the API a JSON 500, logged here.
            if not request.path.startswith("/api/"):
                return None
            logger.error(
                "Configuration error on %s %s",
                request.method,
                request.path,
                exc_info=True,
            )
            return JsonResponse({"detail": configuration_error_message()}, status=500)
        message = temporary_failure_message(exception)
        if message is None:
            return None  # a real bug: Django's 500 page and error log
        logger.error(
            "Temporary failure on %s %s", request.method, request.path, exc_info=True
        )
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse({"detail": message}, status=503)
        else:
            body = render_to_string(
                "503.html", {"message": message, "retry_after": RETRY_AFTER_SECONDS}
            )
            response = HttpResponse(body, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
