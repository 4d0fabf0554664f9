"""Detection jobs: one job per uploaded photo, run by a Celery worker, swept if stuck.

``enqueue_detection_jobs`` saves each photo in the media storage
(``demos/common/media.py``) as ``jobs/<owner id>/<public id>/upload`` with a
``DetectionJob`` row and hands the job to Celery with ``transaction.on_commit`` (a
worker never sees a job
whose row is not committed). ``run_detection_job`` is what a worker runs: it is
idempotent — the run is stored and linked to the job in one transaction through
``create_demo_run(on_saved=...)``, and the one-to-one link refuses a second run, so
a retried or re-delivered task ends with exactly one run. ``sweep_stale_jobs``
settles jobs whose worker died (re-queued, or failed after the last attempt) and
removes the uploads of finished jobs. Tasks are defined in ``demos/tasks.py``;
it sends them by name, so it never imports that module.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from demos.common import media, sweeper
from demos.common.limits import (
    UploadInProgress,
    check_free_disk,
    previous_upload_message,
)
from demos.ml.detection.detectors import DetectorUnavailable
from demos.models import DemoRun, DetectionJob
from demos.people import services
from demos.people.selectors import detector_states, is_available
from models_store.registry import UnknownModel, get_spec
from portal.celery import app as celery_app
from portal.lib.errors import BadInput, ServiceUnavailable

RUN_DETECTION_JOB_TASK = "demos.tasks.run_detection_job"

logger = logging.getLogger(__name__)

UPLOAD_NAME = "upload"
JOBS_DIR = "jobs"
PROGRESS_STARTED = 10
PROGRESS_DONE = 100
# Files younger than this under MEDIA_ROOT/jobs without a row are an upload in
# progress (written before its row commits), not an orphan.
ORPHAN_GRACE_SECONDS = 600

State = DetectionJob.State


class JobDeferred(Exception):
    """A temporary problem (a missing model file, a locked database): try later."""


class JobQueueUnavailable(ServiceUnavailable):
    """The broker (Redis) did not accept the job (→ 503)."""


class DuplicateRun(Exception):
    """Another attempt of the same job stored its run first; this one is undone."""


@dataclass
class JobsOutcome:
    """Result of queueing several photos: the jobs made and, per refused file, why."""

    jobs: list[DetectionJob] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SweepReport:
    """What ``sweep_stale_jobs`` did (or, with ``dry_run``, would do)."""

    requeued: list[DetectionJob] = field(default_factory=list)
    failed: list[DetectionJob] = field(default_factory=list)
    removed: list[Path | str] = field(default_factory=list)


def upload_file(job: DetectionJob) -> str:
    """Storage name of the job's stored upload; refused if outside ``jobs/``."""
    return media.checked_name(job.upload_path, JOBS_DIR)


def queue_for_detector(detector_key: str) -> str:
    """The queue a detector's jobs go to: ResNet-50 models on the GPU queue."""
    try:
        spec = get_spec(detector_key)
    except UnknownModel:
        return settings.CELERY_TASK_DEFAULT_QUEUE
    if spec.family == "torchvision" and "resnet50" in (spec.builder or ""):
        return settings.JOB_GPU_QUEUE
    return settings.CELERY_TASK_DEFAULT_QUEUE


def retry_delay() -> int:
    """Seconds a deferred job waits before its next attempt."""
    return settings.JOB_RETRY_SECONDS


def dispatch_job(job_id: int, detector_key: str) -> None:
    """Send the job to its queue (eager mode: run it now, in this process)."""
    # Sent by name: demos/tasks.py imports this module, never the other way round.
    task = celery_app.signature(
        RUN_DETECTION_JOB_TASK, args=[job_id], kwargs={"detector": detector_key}
    )
    try:
        task.apply_async()
    except (OSError, BrokerUnreachable) as exc:
        fail_detection_job(
            job_id=job_id,
            reason=_("The job queue was unreachable; upload the photo again."),
        )
        raise JobQueueUnavailable(
            _("The job queue is unreachable; try again in a minute.")
        ) from exc


def _check_detector(detector_key: str) -> None:
    """Refuse now, not in the worker, a detector whose file is missing (→ 503)."""
    state = detector_states().get(detector_key)
    if state is not None and not is_available(state):
        raise DetectorUnavailable(
            _("%(name)s is not available: %(reason)s Fix: %(fix)s")
            % {"name": state.spec.name, "reason": state.reason, "fix": state.fix}
        )


def create_detection_job(
    *,
    owner: AbstractBaseUser,
    data: bytes,
    original_name: str,
    detector_key: str,
    score_threshold: float,
) -> DetectionJob:
    """Store one photo and its queued job; the task is sent once the row commits."""
    job = DetectionJob(
        public_id=uuid.uuid4(),
        owner=owner,
        detector=detector_key,
        score_threshold=score_threshold,
        original_name=original_name[: services.ORIGINAL_NAME_MAX],
        language=translation.get_language() or "",
    )
    job.upload_path = f"{job.folder}/{UPLOAD_NAME}"
    try:
        media.save_bytes(job.upload_path, data)
        with transaction.atomic():
            job.full_clean()
            job.save()
            transaction.on_commit(partial(dispatch_job, job.pk, detector_key))
    except BaseException:
        # A job row never lacks its upload, and an upload never outlives a failed row.
        if not DetectionJob.objects.filter(pk=job.pk).exists():
            media.delete_tree(job.folder)
        raise
    return job


def check_no_jobs_in_flight(owner: AbstractBaseUser) -> None:
    """``UploadInProgress`` (→ 429) while ``owner`` has queued or running jobs: one
    batch in flight per student, so one student's flood cannot queue ahead of the
    class (the page and the API call this before ``enqueue_detection_jobs``)."""
    unfinished = DetectionJob.objects.filter(
        owner=owner, state__in=[State.QUEUED, State.RUNNING]
    )
    if unfinished.exists():
        raise UploadInProgress(previous_upload_message(), retry_after=10)


def enqueue_detection_jobs(
    *,
    owner: AbstractBaseUser,
    uploads: list[UploadedFile],
    detector_key: str | None,
    score_threshold: float | None,
) -> JobsOutcome:
    """One queued job per photo; oversized files are refused here, by name.

    The detector and threshold are resolved now (``BadInput`` → 400 for all of
    them, ``DetectorUnavailable`` → 503); each photo's content is checked by the
    worker, and a bad one ends as a failed job with the reason.
    """
    key = services.resolve_detector_key(detector_key)
    threshold = services.resolve_threshold(key, score_threshold)
    _check_detector(key)
    check_free_disk()  # InsufficientStorage → 507
    services.check_storage_quota(owner)
    outcome = JobsOutcome()
    for upload in uploads:
        name = upload.name or ""
        try:
            data = services.read_upload(upload)
        except BadInput as exc:
            outcome.failures.append((name, str(exc)))
            continue
        outcome.jobs.append(
            create_detection_job(
                owner=owner,
                data=data,
                original_name=name,
                detector_key=key,
                score_threshold=threshold,
            )
        )
    return outcome


def _claim(job_id: int) -> DetectionJob | None:
    """Mark the job running for this attempt; ``None`` if there is nothing to do."""
    with transaction.atomic():
        job = (
            DetectionJob.objects.select_for_update(of=("self",))
            .select_related("owner")
            .filter(pk=job_id)
            .first()
        )
        if job is None or job.is_finished:
            return None
        if job.attempts >= settings.JOB_MAX_ATTEMPTS:
            # A photo that kills its worker every time must not loop forever.
            job.state = State.FAILED
            job.detail = _gave_up_reason(job)
            job.finished = timezone.now()
            job.save(update_fields=["state", "detail", "finished"])
            transaction.on_commit(partial(remove_job_upload, job))
            return None
        job.state = State.RUNNING
        job.attempts += 1
        job.started = timezone.now()
        job.progress = PROGRESS_STARTED
        job.save(update_fields=["state", "attempts", "started", "progress"])
    return job


def _gave_up_reason(job: DetectionJob) -> str:
    with translation.override(job.language or settings.LANGUAGE_CODE):
        return _(
            "The worker stopped while processing this photo (%(count)d attempts)."
        ) % {"count": job.attempts}


def _link_run(job_id: int, run: DemoRun) -> None:
    """Inside the run's transaction: attach it, or undo it if a run exists already."""
    job = DetectionJob.objects.select_for_update().get(pk=job_id)
    if job.run_id is not None:
        raise DuplicateRun(str(job.public_id))
    job.run = run
    job.state = State.DONE
    job.detail = ""
    job.progress = PROGRESS_DONE
    job.finished = timezone.now()
    job.save(update_fields=["run", "state", "detail", "progress", "finished"])


def _fail(job_id: int, reason: str) -> None:
    """Mark failed unless an attempt already stored the run (done wins)."""
    DetectionJob.objects.filter(pk=job_id, run__isnull=True).update(
        state=State.FAILED, detail=reason[:500], finished=timezone.now()
    )


def fail_detection_job(*, job_id: int, reason: str) -> DetectionJob | None:
    """Give up on a job with a reason the student reads; its upload is removed."""
    _fail(job_id, reason)
    job = DetectionJob.objects.filter(pk=job_id).first()
    if job is not None and job.is_finished:
        remove_job_upload(job)
    return job


def _requeue(job: DetectionJob, reason: str, *, refund_attempt: bool = False) -> None:
    changes = {"state": State.QUEUED, "detail": reason[:500], "progress": 0}
    if refund_attempt:
        changes["attempts"] = F("attempts") - 1
    DetectionJob.objects.filter(pk=job.pk, run__isnull=True).update(**changes)


def run_detection_job(job_id: int) -> DetectionJob | None:
    """Run one job (the worker's side); safe to call any number of times.

    Done or failed jobs are left as they are. A bad photo fails the job with
    the reason; a temporary problem (``ServiceUnavailable``) puts it back in the
    queue state and raises ``JobDeferred`` for the task to retry later, until
    ``JOB_MAX_ATTEMPTS`` attempts were made. A database error anywhere — the
    claim included, where a locked database leaves the job queued with no
    attempt counted — also raises ``JobDeferred``: the task retries it, so no
    job waits in the queue state for a message that is already gone.
    """
    try:
        job = _claim(job_id)
        if job is None:
            return DetectionJob.objects.filter(pk=job_id).first()
        with translation.override(job.language or settings.LANGUAGE_CODE):
            return _run_claimed(job)
    except DatabaseError as exc:
        logger.warning("Job %s: database error, retrying: %s", job_id, exc)
        with translation.override(settings.LANGUAGE_CODE):
            reason = _("The database was busy; trying again.")
        raise JobDeferred(reason) from exc


def _run_claimed(job: DetectionJob) -> DetectionJob | None:
    try:
        data = media.read_bytes(upload_file(job))
    except FileNotFoundError:
        return fail_detection_job(
            job_id=job.pk,
            reason=_("The uploaded photo is gone from the server; upload again."),
        )
    try:
        services.create_demo_run(
            owner=job.owner,
            data=data,
            original_name=job.original_name,
            detector_key=job.detector,
            score_threshold=job.score_threshold,
            on_saved=partial(_link_run, job.pk),
        )
    except DuplicateRun:
        logger.info("Job %s: another attempt stored the run first", job.public_id)
    except BadInput as exc:
        return fail_detection_job(job_id=job.pk, reason=str(exc))
    except SoftTimeLimitExceeded:
        # A photo this slow would be as slow again: no retry.
        return fail_detection_job(
            job_id=job.pk,
            reason=_("The detector took longer than %(seconds)d seconds.")
            % {"seconds": settings.CELERY_TASK_SOFT_TIME_LIMIT},
        )
    except DatabaseError:
        # The run's transaction was undone. A busy database is no fault of the
        # photo, so the attempt is given back (attempts count what could kill a
        # worker); the job is queued again if the database lets us, and the task
        # retries it either way.
        with contextlib.suppress(DatabaseError):
            _requeue(
                job, _("The database was busy; trying again."), refund_attempt=True
            )
        raise
    except Exception as exc:
        if not isinstance(exc, ServiceUnavailable):
            logger.exception("Job %s failed unexpectedly", job.public_id)
        reason = (
            str(exc)
            if isinstance(exc, ServiceUnavailable)
            else _("The server could not process this photo.")
        )
        if job.attempts < settings.JOB_MAX_ATTEMPTS:
            _requeue(job, reason)
            raise JobDeferred(reason) from exc
        return fail_detection_job(job_id=job.pk, reason=reason)
    job.refresh_from_db()
    remove_job_upload(job)
    return job


def remove_job_upload(job: DetectionJob) -> None:
    media.delete_tree(job.folder)


def sweep_stale_jobs(
    *,
    older_than: timedelta | None = None,
    queued_older_than: timedelta | None = None,
    dry_run: bool = False,
) -> SweepReport:
    """Settle jobs no live worker is running, and remove finished jobs' uploads.

    A job ``running`` since before ``older_than`` (default: the hard time limit
    plus a minute) lost its worker: it is queued again, or failed once it had
    ``JOB_MAX_ATTEMPTS`` attempts. A job ``queued`` longer than
    ``queued_older_than`` (default ``JOB_QUEUED_TIMEOUT``) found no worker for
    its queue and fails with that reason.
    """
    now = timezone.now()
    if older_than is None:
        older_than = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    if queued_older_than is None:
        queued_older_than = timedelta(seconds=settings.JOB_QUEUED_TIMEOUT)
    report = SweepReport()
    stale_running = DetectionJob.objects.filter(
        state=State.RUNNING, started__lt=now - older_than
    )
    for job in stale_running:
        retry = job.attempts < settings.JOB_MAX_ATTEMPTS
        (report.requeued if retry else report.failed).append(job)
        if dry_run:
            continue
        with transaction.atomic():
            # Only if still the same attempt: a worker may have just finished it.
            same = DetectionJob.objects.filter(
                pk=job.pk, state=State.RUNNING, started=job.started, run__isnull=True
            )
            if retry:
                with translation.override(job.language or settings.LANGUAGE_CODE):
                    reason = _("The worker stopped; trying again.")
                if same.update(state=State.QUEUED, progress=0, detail=reason):
                    transaction.on_commit(partial(dispatch_job, job.pk, job.detector))
            else:
                same.update(
                    state=State.FAILED, detail=_gave_up_reason(job), finished=now
                )
    stale_queued = DetectionJob.objects.filter(
        state=State.QUEUED, created__lt=now - queued_older_than
    ).exclude(started__gte=now - queued_older_than)
    for job in stale_queued:
        report.failed.append(job)
        if dry_run:
            continue
        with translation.override(job.language or settings.LANGUAGE_CODE):
            reason = _(
                "No worker picked this photo up within %(minutes)d minutes "
                "(queue %(queue)s)."
            ) % {
                "minutes": queued_older_than.total_seconds() // 60,
                "queue": queue_for_detector(job.detector),
            }
        DetectionJob.objects.filter(pk=job.pk, state=State.QUEUED).update(
            state=State.FAILED, detail=reason, finished=now
        )
    report.removed = sweeper.sweep_owner(JOB_UPLOADS, dry_run=dry_run)
    return report


def _judge_job_folders(names: list[str]) -> dict[str, sweeper.Verdict]:
    """``<owner id>/<public id>`` upload folders: a queued or running job's are live,
    a finished job's are ended (its run has the photo); no row: an orphan, or an
    upload whose row is being committed right now (the grace period tells)."""
    states = sweeper.row_states(
        DetectionJob, names, public_id_of=lambda name: name.rpartition("/")[2]
    )
    pending = (State.QUEUED, State.RUNNING)
    return {
        name: sweeper.Verdict.LIVE if state in pending else sweeper.Verdict.ENDED
        for name, state in states.items()
    }


JOB_UPLOADS = sweeper.register(
    sweeper.Owner(
        key="jobs",
        prefix=JOBS_DIR,
        judge=_judge_job_folders,
        grace_seconds=ORPHAN_GRACE_SECONDS,
        summary="{removed} upload folder(s) of finished or unknown detection jobs.",
        item="job upload",
    )
)
