"""Throttle counters are atomic on every cache the portal configures (finding 4)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import override_settings

from portal.lib.counting import count_hit

DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "portal_cache",
    }
}
REPO = Path(__file__).resolve().parents[2]
REDIS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/15",
        "KEY_PREFIX": "test-counting",
    }
}


def _count_in_parallel(threads: int, per_thread: int) -> list[int]:
    seen: list[int] = []
    barrier = threading.Barrier(threads)

    def hit() -> None:
        barrier.wait()
        for _ in range(per_thread):
            seen.append(count_hit("uploads:alice:1", 60))

    workers = [threading.Thread(target=hit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers), "a counter hung"
    return seen


def test_local_memory_counts_every_hit_once() -> None:
    seen = _count_in_parallel(8, 25)
    assert sorted(seen) == list(range(1, 201))


FILE_DATABASE_RUN = """
import django, sys
django.setup()
from django.core.management import call_command
from django.test import override_settings
call_command("migrate", verbosity=0)  # creates portal_cache too (finding 10)
from tests.portal.test_counting import DATABASE_CACHE, _count_in_parallel
with override_settings(CACHES=DATABASE_CACHE):
    seen = _count_in_parallel(4, 10)
print(sorted(seen) == list(range(1, 41)), len(seen))
"""


def test_database_cache_counts_every_hit_once(tmp_path) -> None:
    # A real SQLite file (WAL, IMMEDIATE, busy timeout) as the default settings
    # use: the test database lives in shared memory, where SQLite refuses
    # concurrent writers instead of making them wait.
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {"DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    env |= {"PORTAL_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", FILE_DATABASE_RUN],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "40"]


@pytest.mark.django_db(transaction=True)
def test_database_cache_counts_every_hit_once_on_the_test_database() -> None:
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("shared-memory SQLite: covered by the file database test")
    with override_settings(CACHES=DATABASE_CACHE):
        caches["default"].clear()
        seen = _count_in_parallel(4, 10)
        caches["default"].clear()
    assert sorted(seen) == list(range(1, 41))


def test_redis_counts_every_hit_once() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_CACHE["default"]["LOCATION"]).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    with override_settings(CACHES=REDIS_CACHE):
        caches["default"].clear()
        seen = _count_in_parallel(8, 25)
        caches["default"].clear()
    assert sorted(seen) == list(range(1, 201))
