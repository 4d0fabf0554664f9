"""The portal's URLs plus one view that raises: what a bug looks like to a visitor."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from portal.urls import handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


class DeliberateBug(RuntimeError):
    """Raised by the test view; its message must never reach the visitor."""


def broken_view(request: HttpRequest) -> HttpResponse:
    raise DeliberateBug("secret-internal-detail in /srv/portal/demos/people/views.py")


urlpatterns = [*portal_urlpatterns, path("broken/", broken_view)]
