"""The per-view exception to the strict Content-Security-Policy: a view decorated with
``runs_webassembly`` gets ``settings.CONTENT_SECURITY_POLICY_WASM`` (the strict
policy plus 'wasm-unsafe-eval' and worker-src 'self', what Pyodide needs) instead of
the policy every other page gets from ``portal.middleware.SecurityHeadersMiddleware``
(which only sets the header where a view has not)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def runs_webassembly(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.headers["Content-Security-Policy"] = (
            settings.CONTENT_SECURITY_POLICY_WASM
        )
        return response

    return wrapped
