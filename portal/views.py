"""The home page: the portal's sections."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # Rendered without a request context, so a failing context processor cannot
    # fail the error page too; never a traceback.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
