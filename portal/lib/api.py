"""API plumbing shared by every app: the API root and one exception handler.

Domain exceptions raised by services map to JSON errors here, so views never
catch them one by one: bad input → 400, a missing model → 503, a locked database
or a full disk → 503 "try again" (``portal/faults.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ImproperlyConfigured, TooManyFilesSent
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from portal.lib.clients import client_address
from portal.lib.counting import count_in_window
from portal.lib.errors import (
    BadInput,
    InsufficientStorage,
    ServiceUnavailable,
    TryLater,
)
from portal.lib.faults import (
    RETRY_AFTER_SECONDS,
    configuration_error_message,
    is_configuration_error,
    temporary_failure_message,
)
from portal.lib.numbers import InvalidNumber, parse_number

logger = logging.getLogger(__name__)


class PortalAutoSchema(AutoSchema):
    """Names nested ``InputSerializer``/``OutputSerializer`` after their view.

    Every APIView nests serializers with the same two names (the style guide's
    pattern); without this, the schema's components would collide.
    """

    def _get_serializer_name(
        self, serializer, direction: str, bypass_extensions: bool = False
    ) -> str:
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        if isinstance(serializer, serializers.ListSerializer):
            serializer = serializer.child
        cls = serializer if isinstance(serializer, type) else type(serializer)
        owner, _, _rest = cls.__qualname__.rpartition(".")
        return f"{owner.split('.')[-1]}{name}" if owner else name


class BoundedFloatField(serializers.FloatField):
    """A float read by ``portal.lib.numbers.parse_number`` (finite, bounded text)."""

    def to_internal_value(self, data: Any) -> float:
        try:
            return parse_number(data)
        except InvalidNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


class BoundedIntegerField(serializers.IntegerField):
    """A whole number read by ``portal.lib.numbers.parse_number`` (at most 2**53)."""

    def to_internal_value(self, data: Any) -> int:
        try:
            return parse_number(data, integer=True)
        except InvalidNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not know (→ 400): a body of other
    keys is a mistake, not a request for every default. The CSRF token a page form
    posts with its fields is not a field of the request."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        sent = set(getattr(self, "initial_data", {})) - {"csrfmiddlewaretoken"}
        unknown = sorted(sent - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                _("Unknown field(s): %(names)s.") % {"names": ", ".join(unknown)}
            )
        return attrs


class UploadRateThrottle(ScopedRateThrottle):
    """The per-user (or per-address) "uploads" rate, counted atomically.

    DRF's throttles keep a list of timestamps: read, append, write back, so parallel
    requests overwrite each other. This one counts hits in a fixed window with
    ``portal.lib.counting.count_in_window`` (Redis ``INCR`` when ``REDIS_URL`` is
    set), and keys anonymous clients on ``portal.lib.clients.client_address``.
    The rate is read at request time so settings changes apply.
    """

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_address(request)

    def allow_request(self, request: Request, view: APIView) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        hits, self.seconds_left = count_in_window(self.key, self.duration)
        return hits <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.seconds_left)


def check_upload_rate(request: Any) -> None:
    """The API's "uploads" allowance, for the upload *page*: one budget for both.

    Raises ``TryLater`` (→ 429) once the user has spent it; counts the hit
    otherwise.
    """
    throttle = UploadRateThrottle()
    if not throttle.allow_request(request, _UPLOADS_SCOPE):  # type: ignore[arg-type]
        raise TryLater(
            _("Too many uploads in a short time; wait a minute and try again."),
            retry_after=int(throttle.wait()),
        )


class _UploadsScope:
    throttle_scope = "uploads"


_UPLOADS_SCOPE = _UploadsScope()


def validated(serializer: serializers.Serializer) -> dict[str, Any]:
    """The serializer's data, or ``BadInput`` with one readable sentence (→ 400)."""
    if serializer.is_valid():
        return serializer.validated_data
    field, errors = next(iter(serializer.errors.items()))
    message = errors[0] if isinstance(errors, list) else errors
    raise BadInput(f"{field}: {message}")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, BadInput):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, TryLater):
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if isinstance(exc, InsufficientStorage):
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_507_INSUFFICIENT_STORAGE,
            headers={"Retry-After": "300"},
        )
    if isinstance(exc, ServiceUnavailable):
        return Response(
            {"detail": str(exc)},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "30"},
        )
    if isinstance(exc, TooManyFilesSent):
        return Response(
            {"detail": _("Too many files in one request; send one photo per request.")},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ImproperlyConfigured) or is_configuration_error(exc):
        # migrate not run, a setting missing: a 500 for the operator, not "retry".
        logger.error("Configuration error in the API", exc_info=exc)
        return Response(
            {"detail": configuration_error_message()},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    temporary = temporary_failure_message(exc)
    if temporary is not None:
        # A locked database or a full disk: the service undid its work; say so.
        logger.error("Temporary failure in the API", exc_info=exc)
        return Response(
            {"detail": temporary},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
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

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        links = {}
        for name, route in API_ENDPOINTS.items():
            try:
                links[name] = request.build_absolute_uri(reverse(route))
            except NoReverseMatch:
                continue
        return Response(links)
