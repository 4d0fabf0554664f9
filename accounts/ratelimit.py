"""Login rate limiting with token buckets stored in the database.

Two buckets guard every login: one for the username tried and one for the client
address. A failed password takes a token from both; a bucket refills one token every
``refill_seconds``. After ``slowdown_after`` failures the response is delayed a little,
and an empty bucket refuses the login with ``LoginRateLimited`` until it refills.
Keys are hashed, so the table never stores usernames or addresses in clear.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import LoginBucket


class LoginRateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            _(
                "Too many failed login attempts. Please wait %(seconds)d seconds "
                "and try again."
            )
            % {"seconds": retry_after}
        )


def client_address(request: HttpRequest) -> str:
    if settings.USE_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "unknown")


def _keys(username: str, address: str) -> dict[str, float]:
    """Each bucket's key and capacity.

    A whole classroom shares one NAT address, so the address bucket is much larger
    than the per-username one: one student's typos never lock out the class, while
    one address guessing across many usernames is still stopped.
    """
    cfg = settings.LOGIN_RATE_LIMIT

    def digest(kind: str, value: str) -> str:
        raw = f"{settings.SECRET_KEY}:{kind}:{value}".encode()
        return hashlib.sha256(raw).hexdigest()

    return {
        digest("user", username.strip().lower()): float(cfg["capacity"]),
        digest("addr", address): float(cfg.get("address_capacity", cfg["capacity"])),
    }


def _refilled(bucket: LoginBucket, now, capacity: float) -> float:
    cfg = settings.LOGIN_RATE_LIMIT
    elapsed = (now - bucket.updated).total_seconds()
    return min(capacity, bucket.tokens + elapsed / cfg["refill_seconds"])


def check_login_allowed(*, username: str, address: str) -> None:
    """Raise ``LoginRateLimited`` if either bucket is empty; never writes."""
    cfg = settings.LOGIN_RATE_LIMIT
    now = timezone.now()
    capacities = _keys(username, address)
    for bucket in LoginBucket.objects.filter(key__in=capacities):
        tokens = _refilled(bucket, now, capacities[bucket.key])
        if tokens < 1:
            wait = int((1 - tokens) * cfg["refill_seconds"]) + 1
            raise LoginRateLimited(retry_after=wait)


def record_failed_login(*, username: str, address: str) -> None:
    """Take a token from both buckets, then slow the caller down if it keeps failing."""
    cfg = settings.LOGIN_RATE_LIMIT
    now = timezone.now()
    failures = 0.0
    with transaction.atomic():
        for key, capacity in _keys(username, address).items():
            bucket, _created = LoginBucket.objects.select_for_update().get_or_create(
                key=key, defaults={"tokens": capacity, "updated": now}
            )
            bucket.tokens = max(0.0, _refilled(bucket, now, capacity) - 1)
            bucket.updated = now
            bucket.save(update_fields=["tokens", "updated"])
            failures = max(failures, capacity - bucket.tokens)
    if failures >= cfg["slowdown_after"] and cfg["slowdown_seconds"]:
        time.sleep(cfg["slowdown_seconds"])


def forget_old_buckets(*, older_than: timedelta = timedelta(days=1)) -> int:
    deleted, _ = LoginBucket.objects.filter(
        updated__lt=timezone.now() - older_than
    ).delete()
    return deleted
