"""Celery configuration: eager without REDIS_URL, Redis with it; the app is found.

Each case runs in a fresh interpreter: settings are read once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO_DIR

SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from portal.celery import app
print(json.dumps({
    "eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "backend": app.conf.result_backend,
    "acks_late": app.conf.task_acks_late,
    "reject_on_worker_lost": app.conf.task_reject_on_worker_lost,
    "prefetch": app.conf.worker_prefetch_multiplier,
    "soft": app.conf.task_soft_time_limit,
    "hard": app.conf.task_time_limit,
    "visibility": app.conf.broker_transport_options["visibility_timeout"],
    "default_queue": app.conf.task_default_queue,
    "async_uploads": settings.PORTAL_ASYNC_UPLOADS,
}))
"""


def run_python(code: str, **env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "REDIS_URL", "DATABASE_URL"))
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_DIR,
        env=clean | {"DJANGO_SETTINGS_MODULE": "portal.settings.dev"} | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_without_redis_jobs_run_in_process_and_uploads_stay_synchronous() -> None:
    conf = json.loads(run_python(SHOW_SETTINGS))

    assert conf["eager"] is True
    assert conf["broker"] == "memory://"
    assert conf["async_uploads"] is False


def test_with_redis_url_jobs_go_to_redis_and_uploads_are_queued() -> None:
    conf = json.loads(
        run_python(SHOW_SETTINGS, REDIS_URL="redis://redis.internal:6379/0")
    )

    assert conf["eager"] is False
    assert conf["broker"] == conf["backend"] == "redis://redis.internal:6379/0"
    assert conf["async_uploads"] is True
    assert conf["acks_late"] is True
    assert conf["reject_on_worker_lost"] is True
    assert conf["prefetch"] == 1
    assert conf["soft"] < conf["hard"] < conf["visibility"]
    assert conf["default_queue"] == "cpu"


def test_async_uploads_can_be_switched_off_with_redis() -> None:
    conf = json.loads(
        run_python(
            SHOW_SETTINGS,
            REDIS_URL="redis://redis.internal:6379/0",
            PORTAL_ASYNC_UPLOADS="false",
        )
    )

    assert conf["async_uploads"] is False


def test_celery_finds_the_portal_app_and_its_tasks() -> None:
    code = (
        "from celery.app.utils import find_app; app = find_app('portal'); "
        "app.loader.import_default_modules(); "
        "print(app.main, sorted(t for t in app.tasks if t.startswith('demos.')))"
    )

    assert run_python(code) == (
        "portal ['demos.tasks.cleanup_media', 'demos.tasks.run_detection_job', "
        "'demos.tasks.run_training_run', 'demos.tasks.run_transfer_run', "
        "'demos.tasks.sweep_stale_jobs', 'demos.tasks.sweep_stale_runs']"
    )


def test_portal_package_loads_neither_celery_nor_django_for_pure_modules() -> None:
    code = (
        "import sys, portal.lib.errors; "
        "print(sorted(m for m in ('django', 'celery') if m in sys.modules))"
    )

    assert run_python(code) == "[]"
