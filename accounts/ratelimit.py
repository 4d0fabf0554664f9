"""Login limits: django-axes counts, this module serialises, addresses and answers.

django-axes (``axes`` in INSTALLED_APPS, its backend first in
``AUTHENTICATION_BACKENDS``) records every failed login on every path that calls
``authenticate`` (the site's login page, the admin's, the token API) and locks the
*pair* (username, client address) after ``AXES_FAILURE_LIMIT`` failures until
``AXES_COOLOFF_TIME`` has passed: an attacker elsewhere cannot lock the owner out.

What axes leaves open, done here:

- ``login_gate``: axes reads the count, the password is hashed, then the count is
  written; 40 parallel guesses all read "0 failures". The gate lets one password
  check at a time through per (username, address) (``cache.add`` is atomic on
  every cache backend), so at most the limit is ever checked.
- per address, only a slow-down, never a refusal (ASVS 2.2.1: anti-automation
  without lockout): once an address has failed ``LOGIN_ADDRESS_FAILURE_LIMIT``
  times in a cool-off window, across all usernames (password spraying), each
  password check from it waits ``LOGIN_ADDRESS_DELAY_SECONDS`` first. A whole
  class shares one NAT address: a classmate's right password still logs in.
- the address is ``portal.lib.clients.client_address`` (axes'
  ``AXES_CLIENT_IP_CALLABLE`` and the throttles): ``X-Forwarded-For`` only counts
  from ``PORTAL_TRUSTED_PROXIES``.
- ``lockout_response`` (``AXES_LOCKOUT_CALLABLE``): 429 with ``Retry-After``,
  JSON under ``/api/``, the login page with a readable error elsewhere.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal.lib.clients import client_address  # noqa: F401  (the one address rule)
from portal.lib.counting import count_hit, current_window

# A password check never takes this long; a crashed worker's gate expires.
GATE_SECONDS = 30
# The slow-down's clock (a seam: tests record the waits instead of sleeping).
_sleep = time.sleep


class LoginRateLimited(Exception):
    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message or locked_out_message(retry_after))


def locked_out_message(retry_after: int) -> str:
    return _(
        "Too many failed login attempts. Please wait %(seconds)d seconds and try again."
    ) % {"seconds": retry_after}


def _gate_key(username: str, address: str) -> str:
    raw = f"{settings.SECRET_KEY}:login:{username.strip().lower()}:{address}"
    return "login-gate:" + hashlib.sha256(raw.encode()).hexdigest()


class LoginAttempt:
    """What ``login_gate`` hands its caller: report a wrong password with ``failed``."""

    def __init__(self, request: HttpRequest, address: str) -> None:
        self.request, self.address = request, address

    def failed(self) -> None:
        # A pair axes already refused checked no password: not one more guess.
        if not getattr(self.request, "axes_locked_out", False):
            count_hit(_address_key(self.address), retry_after_seconds())


def _address_key(address: str) -> str:
    window, _left = current_window(retry_after_seconds())
    raw = f"{settings.SECRET_KEY}:login-address:{address}:{window}"
    return "login-address:" + hashlib.sha256(raw.encode()).hexdigest()


@contextmanager
def login_gate(
    request: HttpRequest, *, username: str, address: str
) -> Iterator[LoginAttempt]:
    """One password check at a time for a (username, address) pair.

    Raises ``LoginRateLimited`` while another check for the same pair is running
    (so axes' read-hash-write cycle cannot be overtaken). An address that failed
    ``LOGIN_ADDRESS_FAILURE_LIMIT`` times this cool-off window across all
    usernames (password spraying) is slowed down, never refused: a class shares
    one NAT address, and a classmate's right password must still log in.
    """
    if cache.get(_address_key(address), 0) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        _sleep(settings.LOGIN_ADDRESS_DELAY_SECONDS)
    key, token = _gate_key(username, address), secrets.token_hex(8)
    if not cache.add(key, token, timeout=GATE_SECONDS):
        raise LoginRateLimited(
            retry_after=1,
            message=_(
                "Another login attempt for this account is being checked. "
                "Try again in a moment."
            ),
        )
    try:
        yield LoginAttempt(request, address)
    finally:
        if cache.get(key) == token:
            cache.delete(key)


def retry_after_seconds() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()))


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """What a locked (username, address) pair gets from any login path: 429."""
    wait = retry_after_seconds()
    message = locked_out_message(wait)
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        # The login page again, the username kept, the reason as the form's error
        # (set directly: validating would try the password once more).
        form = AuthenticationForm(
            request, data={"username": request.POST.get("username", "")}
        )
        form._errors, form.cleaned_data = ErrorDict(), {}
        form.add_error(None, message)
        context = {"form": form, "next": request.POST.get("next", "")}
        response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
