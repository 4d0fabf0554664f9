"""Who sent a request: the one rule for the client address (logins, throttles).

``X-Forwarded-For`` is written by whoever sends the request, so it only counts
when the request itself comes from a proxy listed in ``PORTAL_TRUSTED_PROXIES``
(addresses or networks); otherwise an anonymous client could pick a fresh
address per request and never be throttled.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.PORTAL_TRUSTED_PROXIES)


def client_address(request: HttpRequest) -> str:
    """``REMOTE_ADDR``, or, behind a trusted proxy, the nearest untrusted hop of
    ``X-Forwarded-For``.

    The header is read from the right: our own proxies append what they saw, so
    the first address that is not one of them is the client as our edge saw it;
    anything a client wrote into the header itself sits further left.
    """
    # "" when unknown (a request built in code): axes stores it as NULL, not as
    # a malformed address PostgreSQL's inet column would refuse.
    remote = request.META.get("REMOTE_ADDR", "")
    if not _is_trusted_proxy(remote):
        return remote
    hops = [
        hop.strip()
        for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if hop.strip()
    ]
    for hop in reversed(hops):
        if not _is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else remote
