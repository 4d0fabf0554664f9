"""Faults: missing or corrupt weights, a full disk, a locked database, a killed
worker and a detector that raises. Each leaves no row and no file behind and tells
the student what happened (503 "try again" or the 500 page), never a traceback.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from demos.ml.detection.boxes import PersonBox
from demos.models import DemoRun, Detection
from demos.people import services
from tests.support import media_files, upload

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[3]
PHOTO = "people/apollo11_crew.jpg"


def post_page(client, samples_dir: Path, detector: str = "yolox-nano", **extra):
    return client.post(
        "/demos/people/",
        {"images": [upload(samples_dir, PHOTO)], "detector": detector},
        **extra,
    )


def post_api(client, samples_dir: Path, detector: str = "yolox-nano"):
    return client.post(
        "/api/v1/detections/",
        {"image": upload(samples_dir, PHOTO), "detector": detector},
        format="multipart",
    )


@pytest.fixture
def no_internet(monkeypatch) -> list[tuple]:
    """Record (and refuse) every outgoing connection: nothing may download."""
    attempts: list[tuple] = []

    def refuse(sock: socket.socket, address: tuple) -> None:
        attempts.append(address)
        raise OSError(errno.ENETUNREACH, "no internet in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


# --- Weights missing or corrupt -------------------------------------------------


@pytest.fixture
def empty_store(settings, tmp_path: Path) -> Path:
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    return settings.MODELS_DIR


@pytest.fixture
def corrupt_store(settings, tmp_path: Path, imported_models_dir: Path) -> Path:
    """The store with yolox-nano's file overwritten in place (same size)."""
    store = tmp_path / "models"
    shutil.copytree(imported_models_dir, store)
    yolox = next(store.glob("yolox*"))
    data = bytearray(yolox.read_bytes())
    data[1000:1100] = bytes(100)
    yolox.write_bytes(bytes(data))
    settings.MODELS_DIR = store
    return store


def test_missing_weights_give_the_api_a_503_with_the_reason_and_no_download(
    api, samples_dir, empty_store, private_media, no_internet
) -> None:
    response = post_api(api, samples_dir)

    detail = response.json()["detail"]
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "is not in the model store" in detail
    assert "manage.py models pull yolox-nano" in detail
    assert no_internet == []
    assert list(empty_store.iterdir()) == []
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_corrupt_weights_give_the_api_a_503_with_the_reason_and_no_download(
    api, samples_dir, corrupt_store, private_media, no_internet
) -> None:
    files_before = sorted(p.name for p in corrupt_store.iterdir())

    response = post_api(api, samples_dir)

    detail = response.json()["detail"]
    assert response.status_code == 503
    assert "wrong SHA-256" in detail
    assert "manage.py models pull yolox-nano" in detail
    assert no_internet == []
    assert sorted(p.name for p in corrupt_store.iterdir()) == files_before
    assert media_files(private_media) == []


@pytest.mark.parametrize("store", ["empty_store", "corrupt_store"])
def test_unusable_weights_are_explained_to_staff_and_students_get_the_notice(
    logged_in_client,
    staff_user,
    samples_dir,
    private_media,
    no_internet,
    request,
    store,
) -> None:
    request.getfixturevalue(store)
    staff = Client()
    staff.force_login(staff_user)

    html = post_page(staff, samples_dir).content.decode()
    student = post_page(logged_in_client, samples_dir).content.decode()

    assert "YOLOX-Nano is not available" in html
    assert "manage.py models pull yolox-nano" in html
    assert "Select a valid choice" in student
    assert "manage.py models pull" not in student
    # Only an empty store leaves HOG as the portal's detector; with YOLOX-Nano's
    # file corrupt, the default counter (PicoDet-S only) still serves everyone.
    assert ('data-testid="fallback-notice"' in student) == (store == "empty_store")
    assert no_internet == []
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_without_weights_the_default_detector_falls_back_to_hog(
    api, samples_dir, empty_store, no_internet
) -> None:
    response = api.post(
        "/api/v1/detections/",
        {"image": upload(samples_dir, PHOTO)},
        format="multipart",
    )

    assert response.status_code == 201
    assert response.json()["detector"] == "opencv-hog"
    assert no_internet == []


# --- Disk full, database locked ------------------------------------------------


@pytest.fixture
def disk_fills_at_the_thumbnail(monkeypatch) -> list[Path]:
    real_write = services._write
    written: list[Path] = []

    def write(path: Path, data: bytes) -> None:
        if path.name == "thumb.jpg":  # the second (and last) file of a run
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_write(path, data)
        written.append(path)

    monkeypatch.setattr(services, "_write", write)
    return written


def test_full_disk_while_writing_the_thumbnail_shows_a_503_page_and_removes_files(
    logged_in_client,
    samples_dir,
    models_ready,
    private_media,
    caplog,
    disk_fills_at_the_thumbnail,
) -> None:
    with caplog.at_level(logging.ERROR, logger="portal.middleware"):
        response = post_page(logged_in_client, samples_dir)

    html = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "run out of storage space, so nothing was saved" in html
    assert "Traceback" not in html
    assert [p.name for p in disk_fills_at_the_thumbnail] == ["image.jpg"]
    assert media_files(private_media) == []
    assert DemoRun.objects.count() == Detection.objects.count() == 0
    assert "Temporary failure" in caplog.text


def test_full_disk_gives_the_api_a_503_json(
    api, samples_dir, models_ready, private_media, disk_fills_at_the_thumbnail
) -> None:
    response = post_api(api, samples_dir)

    assert response.status_code == 503
    assert "run out of storage space" in response.json()["detail"]
    assert media_files(private_media) == []
    assert DemoRun.objects.count() == 0


@pytest.fixture(params=["run", "detection"])
def database_locked(request, monkeypatch) -> str:
    """The database refuses the write of the run row, or of its detections."""

    def refuse(*args, **kwargs):
        raise OperationalError("database is locked")

    if request.param == "run":
        monkeypatch.setattr(DemoRun, "save", refuse)
    else:  # the detections go in one bulk insert, after the run row
        monkeypatch.setattr(Detection.objects, "bulk_create", refuse)
    return request.param


def test_locked_database_shows_a_try_again_page_with_no_partial_state(
    logged_in_client, samples_dir, models_ready, private_media, database_locked
) -> None:
    response = post_page(logged_in_client, samples_dir)

    html = response.content.decode()
    assert response.status_code == 503
    assert "Please try again in a moment" in html
    assert 'data-testid="temporary-failure"' in html
    assert DemoRun.objects.count() == Detection.objects.count() == 0
    assert media_files(private_media) == []


def test_locked_database_gives_the_api_a_503_json_with_retry_after(
    api, samples_dir, models_ready, private_media, database_locked
) -> None:
    response = post_api(api, samples_dir)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "Please try again in a moment" in response.json()["detail"]
    assert DemoRun.objects.count() == Detection.objects.count() == 0
    assert media_files(private_media) == []


def test_database_gone_while_reading_a_page_is_a_503_too(
    logged_in_client, monkeypatch
) -> None:
    from demos.people import views

    def gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "list_demo_runs_for_user", gone)

    response = logged_in_client.get("/demos/people/history/")

    assert response.status_code == 503
    assert "try again" in response.content.decode()


def test_korean_students_get_the_try_again_page_in_korean(
    logged_in_client, samples_dir, models_ready, monkeypatch
) -> None:
    monkeypatch.setattr(
        DemoRun, "save", lambda *a, **k: (_ for _ in ()).throw(OperationalError("x"))
    )

    response = post_page(logged_in_client, samples_dir, HTTP_ACCEPT_LANGUAGE="ko")

    assert response.status_code == 503
    assert '<html lang="ko">' in response.content.decode()


# --- A detector that raises -------------------------------------------------------


class BrokenDetector:
    def detect(self, image: np.ndarray, floor: float) -> list[PersonBox]:
        raise RuntimeError("CUDA error: an illegal memory access (internal detail)")


@pytest.fixture
def broken_detector(monkeypatch) -> None:
    monkeypatch.setattr(services, "get_detector", lambda key: BrokenDetector())


def test_detector_that_raises_shows_the_500_page_logs_it_and_saves_nothing(
    logged_in_client,
    samples_dir,
    models_ready,
    private_media,
    broken_detector,
    caplog,
) -> None:
    logged_in_client.raise_request_exception = False

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = post_page(logged_in_client, samples_dir)

    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "internal detail" not in html
    assert "Traceback" not in html
    assert "CUDA error" in caplog.text  # the log has the whole story
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_detector_that_raises_gives_the_api_a_500_without_details(
    api, samples_dir, models_ready, private_media, broken_detector
) -> None:
    api.raise_request_exception = False

    response = post_api(api, samples_dir)

    assert response.status_code == 500
    assert b"internal detail" not in response.content
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


# --- A worker killed mid-request ----------------------------------------------------

KILLED_WORKER = """
import os, signal, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import User
from demos.people import services
from demos.models import Detection

owner = User.objects.create_user(username="victim", password="x")
data = open(sys.argv[1], "rb").read()
def bulk_create(objs, *args, **kwargs):
    # The run row is written, its transaction still open: die like kill -9.
    os.kill(os.getpid(), signal.SIGKILL)

Detection.objects.bulk_create = bulk_create
services.create_demo_run(
    owner=owner, data=data, original_name="crew.jpg",
    detector_key="yolox-nano", score_threshold=None,
)
"""


def test_killed_worker_leaves_no_rows_and_cleanup_removes_its_files(
    user, samples_dir, models_ready, tmp_path, settings
) -> None:
    var = tmp_path / "killed"
    var.mkdir()
    # The worker gets a SQLite file of its own, even when the suite runs on
    # PostgreSQL: the test reads the file afterwards, as the next process would.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PORTAL_VAR_DIR": str(var),
        "PORTAL_MODELS_DIR": str(models_ready),
    }
    worker = subprocess.run(
        [sys.executable, "-c", KILLED_WORKER, str(samples_dir / PHOTO)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert worker.returncode == -signal.SIGKILL, worker.stderr
    with sqlite3.connect(var / "db.sqlite3") as db:
        rows = [
            db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("demos_demorun", "demos_detection")
        ]
    assert rows == [0, 0]  # the open transaction died with the worker
    leftovers = list((var / "media" / "runs").glob("*/*"))
    assert len(leftovers) == 1 and (leftovers[0] / "image.jpg").is_file()

    # The nightly cleanup, an hour later, over the same media folder: the
    # leftovers go, a complete run (just as old) stays whole.
    settings.MEDIA_ROOT = var / "media"
    complete = services.create_demo_run(
        owner=user,
        data=(samples_dir / PHOTO).read_bytes(),
        original_name="crew.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )
    complete_files = media_files(var / "media" / complete.folder)
    an_hour_ago = time.time() - 3700
    for path in (var / "media" / "runs").rglob("*"):
        os.utime(path, (an_hour_ago, an_hour_ago))

    call_command("cleanup_media", stdout=StringIO())

    assert not leftovers[0].exists()
    assert media_files(var / "media") == complete_files
    assert len(complete_files) == 2 and complete.detections.exists()  # photo, thumb
