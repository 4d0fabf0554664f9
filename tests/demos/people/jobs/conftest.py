"""Fixtures for detection jobs: queueing photos and running their tasks in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from demos.people.jobs import services as jobs


def photo(samples_dir: Path, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(Path(name).name, (samples_dir / name).read_bytes())


@pytest.fixture
def queue_photos(samples_dir: Path, django_capture_on_commit_callbacks):
    """Queue photos as ``enqueue_detection_jobs`` does; ``run=True`` runs the tasks.

    Tests run inside a transaction that never commits, so the ``on_commit``
    dispatch is captured and, when asked, executed (eager Celery: in-process).
    """

    def queue(owner, *names: str, run: bool = True, **options):
        options = {"detector_key": "yolox-nano", "score_threshold": None} | options
        with django_capture_on_commit_callbacks(execute=run):
            outcome = jobs.enqueue_detection_jobs(
                owner=owner, uploads=[photo(samples_dir, n) for n in names], **options
            )
        for job in outcome.jobs:
            job.refresh_from_db()
        return outcome

    return queue
