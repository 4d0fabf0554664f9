"""API plumbing shared by every app: the API root and one exception handler.

Domain exceptions raised by services map to JSON errors here, so views never
catch them one by one: bad input → 400, a missing model → 503.
"""

from __future__ import annotations

import logging
from typing import Any

from django.urls import NoReverseMatch, reverse
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# Exception class name → HTTP status. Names, not imports, keep this module free of
# the heavy model code; each app's exceptions subclass one of these two bases.
BAD_INPUT_BASES = ("BadInput",)
UNAVAILABLE_BASES = ("ServiceUnavailable",)


class BadInput(ValueError):
    """The request's data cannot be used; the message says why (→ 400)."""


class ServiceUnavailable(RuntimeError):
    """A needed resource (model file, database) is not ready; retry later (→ 503)."""


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, BadInput):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ServiceUnavailable):
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "30"},
        )
    return drf_exception_handler(exc, context)


API_ENDPOINTS = {
    "token": "api:token",
    "me": "api:me",
    "detectors": "api:detector-list",
    "detections": "api:detection-list",
    "lessons": "api:lesson-list",
    "cnn-models": "api:cnn-model-list",
    "feature-maps": "api:feature-map-create",
    "digits-predict": "api:digit-predict",
    "schema": "api-schema",
    "docs": "api-docs",
}


class ApiRootApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        links = {}
        for name, route in API_ENDPOINTS.items():
            try:
                links[name] = request.build_absolute_uri(reverse(route))
            except NoReverseMatch:
                continue
        return Response(links)
