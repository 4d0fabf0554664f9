"""Request-body cap (413), response headers every page gets (strict CSP, nosniff),
temporary failures → 503, configuration errors → 500, static files (whitenoise)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from whitenoise.middleware import WhiteNoiseFileResponse, WhiteNoiseMiddleware

from portal.lib.faults import (
    RETRY_AFTER_SECONDS,
    configuration_error_message,
    is_configuration_error,
    temporary_failure_message,
)
from portal.lib.streaming import ChunksInThreads

logger = logging.getLogger(__name__)


class RequestBodyLimitMiddleware:
    """413 for a declared body above ``MAX_REQUEST_BYTES``, before anything reads it.

    Django's own caps (``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``FILE_UPLOAD_MAX_MEMORY_SIZE``)
    bound memory, not disk: multipart files above the latter spool to a temporary
    file of any size. The largest legitimate request is a full upload form.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > settings.MAX_REQUEST_BYTES:
            message = _(
                "The request is %(size)d MB; the server accepts at most %(limit)d MB."
            ) % {
                "size": declared // 2**20,
                "limit": settings.MAX_REQUEST_BYTES // 2**20,
            }
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain")
        return self.get_response(request)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Every page, the API docs included (Swagger UI's init script is a file).
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


class StaticFileResponse(ChunksInThreads, WhiteNoiseFileResponse):
    """whitenoise's response, read a chunk at a time under ASGI too."""


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """whitenoise, whose files stay streamed under ASGI (``portal.lib.streaming``):
    its own response made the ASGI handler read each file (Pyodide's runtime is
    9 MB) whole into memory first."""

    @staticmethod
    def serve(static_file: Any, request: HttpRequest) -> HttpResponse:
        served = static_file.get_response(request.method, request.META)
        response = StaticFileResponse(served.file or (), status=int(served.status))
        del response["content-type"]  # whitenoise's headers only
        for key, value in served.headers:
            response[key] = value
        return response
