"""Retention: ``manage.py cleanup_media`` is safe to run from cron.

tests/demos/common/test_cleanup_media.py covers expiry, --dry-run, --days and the grace
period for runs being saved. Here: running it twice changes nothing more, complete
runs are never touched however old their files (within retention), and students'
photos in the feature-map cache expire too while sample photos stay.
"""

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
from demos.widgets import maps as w_maps
from tests.support import media_files

pytestmark = pytest.mark.django_db

DAY = 86_400


def make_run(owner, samples_dir: Path) -> DemoRun:
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / "people" / "grace_hopper.jpg").read_bytes(),
        original_name="grace_hopper.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )


def age(root: Path, days: float) -> None:
    stamp = time.time() - days * DAY
    for path in [root, *root.rglob("*")]:
        os.utime(path, (stamp, stamp))


def cleanup(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_media", *args, stdout=out)
    return out.getvalue()


def test_running_twice_removes_nothing_the_second_time(
    user, samples_dir, models_ready, private_media, settings
) -> None:
    settings.RETENTION_DAYS = 30
    old, kept = make_run(user, samples_dir), make_run(user, samples_dir)
    DemoRun.objects.filter(pk=old.pk).update(
        created=timezone.now() - timedelta(days=40)
    )
    stray = private_media / "runs" / str(user.pk) / "crash-leftover"
    stray.mkdir()
    (stray / "image.jpg").write_bytes(b"half a photo")
    age(stray, 1)

    first = cleanup()
    files_after_first = media_files(private_media)
    second = cleanup()

    assert "Deleted 1 expired run(s) and 1 orphan path(s)." in first
    assert "Deleted 0 expired run(s) and 0 orphan path(s)." in second
    assert media_files(private_media) == files_after_first
    assert list(DemoRun.objects.all()) == [kept]


def test_complete_runs_with_old_files_are_left_whole(
    user, samples_dir, models_ready, private_media, settings
) -> None:
    settings.RETENTION_DAYS = 30
    run = make_run(user, samples_dir)
    # Files written 29 days ago: older than any grace period, within retention.
    age(private_media / "runs", 29)
    files = media_files(private_media)

    output = cleanup()

    assert "Deleted 0 expired run(s) and 0 orphan path(s)." in output
    assert media_files(private_media) == files
    assert len(files) == 2 and run.detections.exists()  # the photo and its thumb


@pytest.fixture
def feature_map_caches(user, other_user, settings) -> dict[str, Path]:
    """Cache folders as cnn_services lays them out, some past the retention."""
    digests = {name: f"{index:040x}" for index, name in enumerate("abcd", start=1)}
    folders = {
        "old upload": w_maps.run_dir("mine", digests["a"], user.pk),
        "new upload": w_maps.run_dir("mine", digests["b"], user.pk),
        "old drawing": w_maps.run_dir("mine", digests["c"], other_user.pk),
        "old sample": w_maps.run_dir("sample", digests["d"], None),
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
        (folder / "input.png").write_bytes(b"png")
        (folder / "run.json").write_text("{}")
    for name in ("old upload", "old drawing", "old sample"):
        age(folders[name], settings.RETENTION_DAYS + 1)
    return folders


def test_feature_maps_of_uploads_expire_but_sample_photos_stay(
    feature_map_caches, settings
) -> None:
    output = cleanup()

    gone = {name for name, path in feature_map_caches.items() if not path.exists()}
    assert gone == {"old upload", "old drawing"}
    assert not feature_map_caches["old drawing"].parent.exists()  # emptied owner
    assert "Deleted 2 expired feature-map folder(s) of uploads." in output
    assert "Deleted 0 expired feature-map folder(s)" in cleanup()


def test_dry_run_and_zero_days_keep_the_feature_map_caches(
    feature_map_caches,
) -> None:
    dry = StringIO()
    call_command("cleanup_media", "--dry-run", verbosity=2, stdout=dry)
    cleanup("--days", "0")

    assert all(path.exists() for path in feature_map_caches.values())
    assert "Would delete 2 expired feature-map folder(s)" in dry.getvalue()
    assert f"feature maps {feature_map_caches['old upload']}" in dry.getvalue()
