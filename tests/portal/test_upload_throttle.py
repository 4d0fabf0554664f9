"""The upload throttle counts parallel requests exactly (finding 4) and keys
anonymous clients on their address, X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress
import threading

from django.test import Client

KERNEL = {"sample": "cat", "preset": "sharpen"}


def _rate(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {"uploads": rate}
    }


def test_thirty_parallel_requests_against_ten_a_minute_let_ten_through(
    settings,
) -> None:
    _rate(settings, "10/min")
    statuses: list[int] = []
    barrier = threading.Barrier(30)

    def send() -> None:
        client = Client(REMOTE_ADDR="10.1.1.1")
        barrier.wait()
        statuses.append(client.post("/api/v1/playgrounds/kernel/", KERNEL).status_code)

    threads = [threading.Thread(target=send) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [200] * 10 + [429] * 20


def test_a_forged_forwarded_for_does_not_buy_a_fresh_allowance(
    client: Client, settings
) -> None:
    _rate(settings, "2/min")
    answers = [
        client.post(
            "/api/v1/playgrounds/kernel/", KERNEL, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 429, 429]


def test_forwarded_for_counts_behind_a_trusted_proxy(settings) -> None:
    _rate(settings, "2/min")
    settings.PORTAL_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    proxy = Client(REMOTE_ADDR="127.0.0.1")
    answers = [
        proxy.post(
            "/api/v1/playgrounds/kernel/",
            KERNEL,
            HTTP_X_FORWARDED_FOR=f"198.51.100.9, 203.0.113.{n}",
        ).status_code
        for n in range(4)
    ]
    assert answers == [200, 200, 200, 200]  # four students behind one nginx
