"""``manage.py cleanup_media``: expired runs and orphan files go, the rest stays."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from demos.models import DemoRun
from demos.people import services

pytestmark = pytest.mark.django_db

TWO_HOURS_AGO = time.time() - 7200


def make_run(owner, samples_dir: Path):
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / "people" / "grace_hopper.jpg").read_bytes(),
        original_name="grace_hopper.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )


def make_orphans(root: Path, owner_id: int) -> list[Path]:
    """A deleted run's folder, a stray file and a stray owner folder, aged 2 hours."""
    gone = root / "runs" / str(owner_id) / "7d0f0b9e-0000-4000-8000-000000000000"
    (gone / "crops").mkdir(parents=True)
    (gone / "image.jpg").write_bytes(b"old")
    stray = root / "runs" / str(owner_id) / "upload.partial"
    stray.write_bytes(b"half")
    nobody = root / "runs" / "999999" / "x.jpg"
    nobody.parent.mkdir()
    nobody.write_bytes(b"x")
    for path in (gone, stray, nobody):
        os.utime(path, (TWO_HOURS_AGO, TWO_HOURS_AGO))
    return [gone, stray, nobody]


def test_removes_orphan_files_and_keeps_every_runs_files(
    user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    orphans = make_orphans(private_media, user.pk)
    out = StringIO()

    call_command("cleanup_media", stdout=out)

    assert not any(path.exists() for path in orphans)
    assert not (private_media / "runs" / "999999").exists()  # emptied owner folder
    assert (private_media / run.image_path).is_file()
    assert (private_media / run.thumbnail_path).is_file()
    assert "0 expired run(s) and 3 orphan path(s)" in out.getvalue()


def test_dry_run_lists_but_deletes_nothing(
    user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    run.created = timezone.now() - timedelta(days=365)
    DemoRun.objects.filter(pk=run.pk).update(created=run.created)
    orphans = make_orphans(private_media, user.pk)
    out = StringIO()

    call_command("cleanup_media", "--dry-run", verbosity=2, stdout=out)

    assert all(path.exists() for path in orphans)
    assert DemoRun.objects.filter(pk=run.pk).exists()
    assert "Would delete 1 expired run(s) and 3 orphan path(s)" in out.getvalue()
    assert f"run {run.folder}" in out.getvalue()


def test_deletes_runs_older_than_the_retention_period_with_their_files(
    user, samples_dir, models_ready, private_media, settings
) -> None:
    settings.RETENTION_DAYS = 30
    old = make_run(user, samples_dir)
    recent = make_run(user, samples_dir)
    DemoRun.objects.filter(pk=old.pk).update(
        created=timezone.now() - timedelta(days=31)
    )

    call_command("cleanup_media", stdout=StringIO())

    assert list(DemoRun.objects.all()) == [recent]
    assert not (private_media / old.folder).exists()
    assert (private_media / recent.image_path).is_file()


def test_days_option_overrides_and_zero_keeps_every_run(
    user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    DemoRun.objects.filter(pk=run.pk).update(created=timezone.now() - timedelta(days=3))

    call_command("cleanup_media", "--days", "0", stdout=StringIO())
    assert DemoRun.objects.count() == 1

    call_command("cleanup_media", "--days", "2", stdout=StringIO())
    assert DemoRun.objects.count() == 0


def test_fresh_folder_without_a_row_is_left_alone(user, private_media) -> None:
    # A run being saved right now has its files but not yet its row.
    in_progress = private_media / "runs" / str(user.pk) / "new-run"
    in_progress.mkdir(parents=True)
    (in_progress / "image.jpg").write_bytes(b"...")

    call_command("cleanup_media", stdout=StringIO())

    assert in_progress.is_dir()
