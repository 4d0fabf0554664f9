"""Accounts API: obtain a token, read the current user."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import ratelimit, services


class TokenObtainApi(APIView):
    """POST username + password → ``{"token", "expiry"}``; 429 while locked out.

    Each call makes a new token (knox keeps only its digest); it expires after
    ``REST_KNOX["TOKEN_TTL"]`` and dies with a password change or a log-out-all.
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expiry = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        django_request = request._request  # axes marks a lockout on this one
        try:
            with ratelimit.login_gate(
                django_request,
                username=username,
                address=ratelimit.client_address(django_request),
            ) as attempt:
                user = authenticate(
                    django_request,
                    username=username,
                    password=data.validated_data["password"],
                )
                if user is None:
                    attempt.failed()
        except ratelimit.LoginRateLimited as exc:
            return Response(
                {"detail": str(exc)},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(exc.retry_after)},
            )
        if getattr(django_request, "axes_locked_out", False):
            return ratelimit.lockout_response(django_request)
        if user is None:
            return Response(
                {"detail": _("Invalid username or password.")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            instance, token = services.create_api_token(user=user)
        except services.TooManyTokens as exc:
            return Response(
                {
                    "detail": _(
                        "You already have %(limit)d API tokens; the oldest expire "
                        "on their own, or log out everywhere to revoke them all."
                    )
                    % {"limit": exc.args[0]}
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        payload = {"token": token, "expiry": instance.expiry}
        return Response(self.OutputSerializer(payload).data)


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        display_name = serializers.CharField()
        date_joined = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(request.user).data)


class LogoutEverywhereApi(APIView):
    """POST → every API token of the user revoked and every session ended."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        services.log_out_everywhere(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClassJoinApi(APIView):
    """POST ``{"code"}`` → the student joins that class: 200 ``{"id", "name",
    "joined"}`` (``joined`` false if already in it); a wrong code → 400."""

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=20)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        name = serializers.CharField()
        term = serializers.CharField()
        joined = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cohort, joined = services.join_cohort_with_code(
            student=request.user, code=data.validated_data["code"]
        )
        cohort.joined = joined
        return Response(self.OutputSerializer(cohort).data)
