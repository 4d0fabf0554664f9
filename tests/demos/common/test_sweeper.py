"""The one orphan sweeper (demos/common/sweeper.py): for each owner of stored files,
an unreferenced file older than its grace period goes; a referenced or young one
stays. ``manage.py cleanup_media`` and the hourly task sweep every owner."""

from __future__ import annotations

import os
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

import demos.tasks  # noqa: F401  (registers every owner, as the command does)
from demos.common import sweeper
from demos.models import DetectionJob, TransferRun
from demos.people import services
from demos.people.jobs import services as jobs
from demos.widgets import maps as w_maps
from demos.widgets import transfer_datasets, transfer_runs

pytestmark = pytest.mark.django_db

DAY = 86_400


def aged(path: Path, seconds: float) -> Path:
    """``path`` and everything under it, written ``seconds`` ago."""
    stamp = time.time() - seconds
    for each in [*path.rglob("*"), path] if path.is_dir() else [path]:
        os.utime(each, (stamp, stamp), follow_symlinks=False)
    return path


def folder_with(path: Path, name: str = "image.jpg") -> Path:
    path.mkdir(parents=True)
    (path / name).write_bytes(b"...")
    return path


def cleanup(*args: str) -> str:
    out = StringIO()
    call_command("cleanup_media", *args, verbosity=2, stdout=out)
    return out.getvalue()


def test_every_owner_of_stored_files_is_registered() -> None:
    assert {owner.key for owner in sweeper.owners()} == {
        "runs",
        "jobs",
        "transfer",
        "feature-maps",
        "datasets",
    }


def test_runs_lose_folders_without_a_run_once_past_the_grace(
    user, samples_dir, models_ready, private_media
) -> None:
    run = services.create_demo_run(
        owner=user,
        data=(samples_dir / "people" / "grace_hopper.jpg").read_bytes(),
        original_name="grace_hopper.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )
    grace = services.ORPHAN_GRACE_SECONDS
    live = aged(private_media / run.folder, grace * 10)
    owner = private_media / "runs" / str(user.pk)
    old = aged(folder_with(owner / str(uuid.uuid4())), grace + 60)
    young = aged(folder_with(owner / str(uuid.uuid4())), grace - 60)

    output = cleanup()

    assert not old.exists()
    assert young.is_dir() and (live / "image.jpg").is_file()
    assert f"orphan {old}" in output
    assert "Deleted 0 expired run(s) and 1 orphan path(s)." in output


def job(user, state: str) -> DetectionJob:
    return DetectionJob.objects.create(
        owner=user, state=state, detector="yolox-nano", score_threshold=0.5
    )


def test_job_uploads_stay_while_the_job_waits_and_go_when_it_ended(
    user, private_media
) -> None:
    grace = jobs.ORPHAN_GRACE_SECONDS
    waiting = aged(folder_with(private_media / job(user, "queued").folder), DAY)
    ended = folder_with(private_media / job(user, "done").folder)  # young: no matter
    owner = private_media / "jobs" / str(user.pk)
    old = aged(folder_with(owner / str(uuid.uuid4()), "upload"), grace + 60)
    young = folder_with(owner / str(uuid.uuid4()), "upload")  # its row commits now

    removed = jobs.sweep_stale_jobs().removed

    assert sorted(removed) == sorted([ended, old])
    assert waiting.is_dir() and young.is_dir()
    assert "Deleted 0 upload folder(s)" in cleanup()  # the hourly sweep agrees


def test_transfer_runs_keep_their_checkpoint_and_lose_the_photos_once_ended(
    user, private_media
) -> None:
    """The ZIP of students' photos is read only while a run trains: it goes when
    the run ended; the trained part and its ONNX export stay for predictions
    while the run exists, however old."""
    root = private_media / transfer_runs.TRANSFER_DIR
    done = TransferRun.objects.create(owner=user, options={}, state="done")
    running = TransferRun.objects.create(owner=user, options={}, state="running")
    for run in (done, running):
        folder = folder_with(transfer_runs.run_folder(run), transfer_runs.DATASET)
        (folder / transfer_runs.TRAINED).write_bytes(b"weights")
    for name in transfer_runs.EXPORT_FILES:
        export = transfer_runs.run_folder(done) / name
        export.write_bytes(b"graph")
        aged(export, 7 * DAY)
    old = aged(folder_with(root / str(uuid.uuid4()), transfer_runs.DATASET), 7200)
    young = folder_with(root / str(uuid.uuid4()), transfer_runs.DATASET)

    output = cleanup()

    done_folder = transfer_runs.run_folder(done)
    assert not (done_folder / transfer_runs.DATASET).exists()
    assert sorted(os.listdir(done_folder)) == [
        "predict.npz",
        "predict.onnx",
        transfer_runs.TRAINED,
    ]
    assert set(os.listdir(transfer_runs.run_folder(running))) == {
        transfer_runs.DATASET,
        transfer_runs.TRAINED,
    }
    assert not old.exists()  # a deleted run's files: the folder goes too
    assert (young / transfer_runs.DATASET).is_file()
    assert "Deleted 2 file(s) of ended or deleted transfer runs." in output


def test_feature_maps_of_uploads_expire_after_the_retention_period(
    user, private_media, settings
) -> None:
    settings.RETENTION_DAYS = 30
    digests = iter(f"{index:040x}" for index in range(1, 4))
    old = folder_with(w_maps.run_dir("mine", next(digests), user.pk), "run.json")
    recent = folder_with(w_maps.run_dir("mine", next(digests), user.pk), "run.json")
    sample = folder_with(w_maps.run_dir("sample", next(digests), None), "run.json")
    aged(old, 31 * DAY)
    aged(sample, 31 * DAY)
    aged(recent.parent, 31 * DAY)  # the owner's folder; the run itself is recent
    aged(recent, 29 * DAY)

    cleanup()

    assert not old.exists()
    assert recent.is_dir() and sample.is_dir()


def test_a_symlink_is_removed_never_followed(user, private_media, tmp_path) -> None:
    outside = tmp_path / "outside"
    folder_with(outside, "precious.jpg")
    link = private_media / "runs" / "link"
    link.parent.mkdir()
    link.symlink_to(outside, target_is_directory=True)
    aged(link, DAY)

    services.remove_orphan_files()

    assert not link.is_symlink()
    assert (outside / "precious.jpg").is_file()


def test_a_dry_run_lists_every_owner_and_removes_nothing(user, private_media) -> None:
    orphans = [
        aged(folder_with(private_media / "runs" / "7" / str(uuid.uuid4())), DAY),
        aged(folder_with(private_media / "jobs" / "7" / str(uuid.uuid4())), DAY),
        aged(folder_with(private_media / "transfer" / str(uuid.uuid4())), DAY),
    ]

    output = cleanup("--dry-run")

    assert all(path.is_dir() for path in orphans)
    assert "Would delete 0 expired run(s) and 1 orphan path(s)." in output
    assert "Would delete 1 upload folder(s)" in output
    assert "Would delete 1 file(s) of ended or deleted transfer runs." in output


def test_class_datasets_keep_their_files_and_lose_those_of_no_dataset(
    private_media,
) -> None:
    from tests.demos.widgets.test_transfer_datasets import class_dataset

    dataset = class_dataset()
    live = aged(private_media / dataset.folder, 10 * DAY)
    old = aged(folder_with(private_media / "datasets" / str(uuid.uuid4())), 2 * 3600)
    young = folder_with(private_media / "datasets" / str(uuid.uuid4()))

    output = cleanup()

    assert not old.exists()
    assert young.is_dir() and (live / transfer_datasets.DATASET).is_file()
    assert "Deleted 1 file(s) of deleted class datasets." in output
