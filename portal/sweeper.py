"""Periodic sweeps without Celery beat: a background thread per web process.

With Redis, ``celery -A portal beat`` runs ``CELERY_BEAT_SCHEDULE`` (stale jobs
every minute, orphan files every hour). Without it nothing would, so the first
request a web process serves starts one daemon thread that runs the same tasks,
looked up by name in the Celery app (portal imports nothing from demos), every
``PORTAL_INPROCESS_SWEEP_SECONDS``. Management commands and tests never pass
through middleware, so they start no thread; the tasks are idempotent, so two
processes sweeping at once only repeat each other's work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse

from portal.celery import app as celery_app

logger = logging.getLogger(__name__)

SWEEP_TASKS = (
    "demos.tasks.sweep_stale_jobs",
    "demos.tasks.sweep_stale_runs",
    "demos.tasks.cleanup_media",
)
THREAD_NAME = "portal-sweeper"

_started = threading.Event()
_stop = threading.Event()  # set to end the thread (tests)
_start_lock = threading.Lock()


def run_sweeps_once() -> dict[str, object]:
    """Run every sweep task in this thread; a failing one is logged, not raised."""
    results: dict[str, object] = {}
    for name in SWEEP_TASKS:
        try:
            results[name] = celery_app.tasks[name]()
        except Exception:  # a sweep must never kill the thread
            logger.exception("In-process sweep %s failed", name)
        finally:
            close_old_connections()
    return results


def _loop(interval: float, stop: threading.Event) -> None:
    while not stop.wait(interval):
        run_sweeps_once()


def start_sweeper() -> threading.Thread | None:
    """Start this process's sweeper thread unless it runs already or is off."""
    interval = settings.PORTAL_INPROCESS_SWEEP_SECONDS
    if interval <= 0:
        return None
    with _start_lock:
        if _started.is_set():
            return None
        thread = threading.Thread(
            target=_loop,
            args=(interval, _stop),
            name=THREAD_NAME,
            daemon=True,
        )
        thread.start()
        _started.set()
        return thread


class PeriodicSweepMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _started.is_set():
            start_sweeper()
        return self.get_response(request)
