"""Celery tasks: thin wrappers over ``demos.people.jobs.services`` and the runs.

``run_detection_job_task`` runs one job (idempotent: a retried or re-delivered
task never stores a second run); ``route_task`` (``CELERY_TASK_ROUTES``) sends
ResNet-50 detectors to the ``gpu`` queue and the rest to ``cpu``; each worker
process builds a model once (``models_store/loading.py`` caches it). Training and
transfer runs (``demos/widgets/run_queue.py``) train here when Redis is there: a
re-delivered task finds its run claimed and does nothing; a run whose worker died
is failed by ``sweep_stale_runs``. ``cleanup_media`` runs the one sweeper
(``demos/common/sweeper.py``) over every owner of stored files; importing this
module imports (and so registers) each of them.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.conf import settings

from demos.common import sweeper
from demos.people import services  # noqa: F401  (registers the runs' files)
from demos.people.jobs import services as jobs
from demos.widgets import (
    maps,  # noqa: F401  (registers the feature-map cache)
    run_queue,
    training_runs,
    transfer_runs,
)
from portal.celery import app


def route_task(
    name: str,
    args: tuple,
    kwargs: dict[str, Any],
    options: dict[str, Any],
    task: Task | None = None,
    **extra: Any,
) -> dict[str, str] | None:
    """Celery router: a detection job's queue follows its detector."""
    if name == run_detection_job_task.name:
        return {"queue": jobs.queue_for_detector(kwargs.get("detector", ""))}
    return None


@app.task(bind=True, name=jobs.RUN_DETECTION_JOB_TASK)
def run_detection_job_task(self: Task, job_id: int, detector: str = "") -> str:
    """Run one detection job; ``detector`` is only read by the router."""
    try:
        job = jobs.run_detection_job(job_id)
    except jobs.JobDeferred as exc:
        if self.request.is_eager:
            # In-process mode has no queue to wait in: report it now.
            jobs.fail_detection_job(job_id=job_id, reason=str(exc))
            return "failed"
        raise self.retry(
            exc=exc, countdown=jobs.retry_delay(), max_retries=None
        ) from exc
    return job.state if job is not None else "gone"


@app.task(name="demos.tasks.sweep_stale_jobs")
def sweep_stale_jobs_task() -> dict[str, int]:
    """Beat's minute-by-minute sweep (``manage.py sweep_jobs`` does the same)."""
    report = jobs.sweep_stale_jobs()
    return {
        "requeued": len(report.requeued),
        "failed": len(report.failed),
        "removed": len(report.removed),
    }


@app.task(name="demos.tasks.cleanup_media")
def cleanup_media_task() -> dict[str, int]:
    """Beat's hourly ``manage.py cleanup_media``: expired runs, then every owner's
    orphan files (the in-process sweeper runs it too, without Redis). Returns the
    expired runs and, per owner, how many paths went."""
    results = sweeper.sweep(retention_days=settings.RETENTION_DAYS)
    counts = {key: len(result.removed) for key, result in results.items()}
    counts["expired"] = sum(len(result.expired) for result in results.values())
    return counts


@app.task(
    name=run_queue.TRAINING_TASK,
    soft_time_limit=settings.TRAINING_RUN_SECONDS + 30,
    time_limit=settings.TRAINING_RUN_SECONDS + 60,
)
def run_training_run_task(run_id: int) -> None:
    """Train one training run (its own deadline stops it; the limits are a net)."""
    training_runs.run_training(run_id)


@app.task(
    name=run_queue.TRANSFER_TASK,
    soft_time_limit=settings.TRANSFER_RUN_SECONDS + 30,
    time_limit=settings.TRANSFER_RUN_SECONDS + 60,
)
def run_transfer_run_task(run_id: int) -> None:
    """Train one transfer-learning run."""
    transfer_runs.run_transfer(run_id)


@app.task(name="demos.tasks.sweep_stale_runs")
def sweep_stale_runs_task() -> dict[str, int]:
    """Beat's (or the in-process sweeper's) minute-by-minute sweep of runs whose
    trainer died: failed with a reason the student reads."""
    return {
        "training": training_runs.fail_stale_runs(),
        "transfer": transfer_runs.fail_stale_runs(),
    }
