"""Finding 11: orphan run folders are swept on a schedule, not by a cron job that
nothing installs: Celery beat with Redis, else a thread in each web process."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from portal import sweeper

pytestmark = pytest.mark.django_db(transaction=True)


def make_orphan(media_root: Path) -> Path:
    gone = media_root / "runs" / "999999" / "7d0f0b9e-0000-4000-8000-000000000000"
    gone.mkdir(parents=True)
    (gone / "image.jpg").write_bytes(b"old")
    two_hours_ago = time.time() - 7200
    for path in (gone, gone.parent):
        os.utime(path, (two_hours_ago, two_hours_ago))
    return gone


def test_beat_schedules_the_orphan_cleanup_hourly() -> None:
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["cleanup-media"]["task"] == "demos.tasks.cleanup_media"
    assert schedule["cleanup-media"]["schedule"] <= 3600


def test_one_sweep_removes_an_orphan_run_folder(private_media: Path) -> None:
    orphan = make_orphan(private_media)
    results = sweeper.run_sweeps_once()
    assert not orphan.parent.exists()
    assert results["demos.tasks.cleanup_media"]["runs"] == 1  # orphan paths of runs


def test_the_first_request_starts_one_sweeper_thread_that_sweeps(
    settings, private_media: Path, monkeypatch
) -> None:
    monkeypatch.setattr(sweeper, "_started", threading.Event())
    monkeypatch.setattr(sweeper, "_stop", threading.Event())
    settings.PORTAL_INPROCESS_SWEEP_SECONDS = 1
    orphan = make_orphan(private_media)
    client = Client()
    client.get("/healthz")
    client.get("/healthz")
    threads = [t for t in threading.enumerate() if t.name == sweeper.THREAD_NAME]
    try:
        assert len(threads) == 1
        deadline = time.monotonic() + 30
        while orphan.parent.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not orphan.parent.exists()
    finally:
        sweeper._stop.set()
        for thread in threads:
            thread.join(timeout=30)
