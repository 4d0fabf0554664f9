"""sweep_stale_jobs and ``manage.py sweep_jobs``: no job stays running forever."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from demos.models import DemoRun, DetectionJob
from demos.people.jobs import services as jobs

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(hours=2)


def make_stale(job: DetectionJob, *, attempts: int = 1) -> None:
    """As if a worker claimed the job two hours ago and then died."""
    DetectionJob.objects.filter(pk=job.pk).update(
        state="running",
        attempts=attempts,
        started=timezone.now() - LONG_AGO,
        progress=10,
    )


def test_stale_running_job_is_queued_again_and_then_finishes(
    user, models_ready, queue_photos, django_capture_on_commit_callbacks
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg", run=False).jobs[0]
    make_stale(job)

    with django_capture_on_commit_callbacks(execute=True):
        report = jobs.sweep_stale_jobs()

    job.refresh_from_db()
    assert [j.pk for j in report.requeued] == [job.pk]
    assert job.state == "done"
    assert job.attempts == 2
    assert DemoRun.objects.count() == 1


def test_stale_job_on_its_last_attempt_fails_with_the_reason(
    user, settings, models_ready, private_media, queue_photos
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg", run=False).jobs[0]
    make_stale(job, attempts=settings.JOB_MAX_ATTEMPTS)

    report = jobs.sweep_stale_jobs()

    job.refresh_from_db()
    assert [j.pk for j in report.failed] == [job.pk]
    assert job.state == "failed"
    assert "worker stopped" in job.detail
    assert not (private_media / job.folder).exists()


def test_recently_started_job_is_left_to_its_worker(
    user, models_ready, queue_photos
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg", run=False).jobs[0]
    DetectionJob.objects.filter(pk=job.pk).update(
        state="running", attempts=1, started=timezone.now()
    )

    report = jobs.sweep_stale_jobs()

    job.refresh_from_db()
    assert report.requeued == report.failed == []
    assert job.state == "running"


def test_job_no_worker_picked_up_fails_naming_its_queue(
    user, models_ready, queue_photos
) -> None:
    job = queue_photos(user, "people/grace_hopper.jpg", run=False).jobs[0]
    DetectionJob.objects.filter(pk=job.pk).update(created=timezone.now() - LONG_AGO)

    jobs.sweep_stale_jobs(queued_older_than=timedelta(hours=1))

    job.refresh_from_db()
    assert job.state == "failed"
    assert "No worker picked this photo up within 60 minutes" in job.detail
    assert "(queue cpu)" in job.detail


def test_done_job_is_never_swept(user, models_ready, queue_photos) -> None:
    job = queue_photos(user, "people/grace_hopper.jpg").jobs[0]
    DetectionJob.objects.filter(pk=job.pk).update(started=timezone.now() - LONG_AGO)

    jobs.sweep_stale_jobs(older_than=timedelta(0))

    job.refresh_from_db()
    assert job.state == "done"


def test_leftover_uploads_of_finished_and_unknown_jobs_are_removed(
    user, models_ready, private_media, queue_photos
) -> None:
    waiting = queue_photos(user, "people/grace_hopper.jpg", run=False).jobs[0]
    failed = queue_photos(user, "bad/text.jpg").jobs[0]
    # A crash left the failed job's upload behind, and a folder no row owns.
    (private_media / failed.upload_path).parent.mkdir(parents=True)
    (private_media / failed.upload_path).write_bytes(b"leftover")
    orphan = private_media / "jobs" / str(user.pk) / str(uuid.uuid4())
    orphan.mkdir()
    (orphan / "upload").write_bytes(b"orphan")
    old = time.time() - 3600
    os.utime(orphan, (old, old))
    fresh = private_media / "jobs" / str(user.pk) / str(uuid.uuid4())
    fresh.mkdir()

    report = jobs.sweep_stale_jobs()

    assert sorted(report.removed) == sorted([private_media / failed.folder, orphan])
    assert (private_media / waiting.upload_path).is_file()
    assert fresh.is_dir()


def test_command_dry_run_lists_and_changes_nothing(
    user, models_ready, queue_photos
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg", run=False).jobs[0]
    make_stale(job)
    out = StringIO()

    call_command("sweep_jobs", "--dry-run", "--verbosity", "2", stdout=out)

    job.refresh_from_db()
    assert job.state == "running"
    assert f"re-queue {job.public_id}" in out.getvalue()
    assert "Would re-queue 1 job(s)" in out.getvalue()


def test_command_with_older_than_settles_a_stuck_job(
    user, settings, models_ready, queue_photos
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg", run=False).jobs[0]
    make_stale(job, attempts=settings.JOB_MAX_ATTEMPTS)
    out = StringIO()

    call_command("sweep_jobs", "--older-than", "60", stdout=out)

    job.refresh_from_db()
    assert job.state == "failed"
    assert "failed 1" in out.getvalue()
