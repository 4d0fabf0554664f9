"""Widget ``session-inspector`` (lesson 15): what the session cookie carries."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.lessons import selectors as selectors
from demos.lessons import services as services


class SessionInspectorApi(APIView):
    """GET → the student's own session: cookie flags and masked value, the
    ``django_session`` row's expiry and key names, the user it points to."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        response = Response(selectors.session_facts(request))
        response["Cache-Control"] = "private, no-store"
        return response


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("session/", SessionInspectorApi.as_view(), name="session-inspector"),
]
