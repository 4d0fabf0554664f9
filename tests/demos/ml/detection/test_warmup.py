"""Warming the default detector at server start, and /healthz reporting it."""

from __future__ import annotations

import runpy
import threading

import pytest

from demos.ml import cnn_warmup
from demos.ml.detection import detectors, warmup
from tests.conftest import REPO_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cold_process(monkeypatch):
    detectors.clear_cache()
    monkeypatch.setattr(warmup, "_state", {"state": "cold", "detector": None})
    yield
    detectors.clear_cache()


def test_warming_builds_the_default_detector_and_healthz_says_so(
    client, models_ready
) -> None:
    assert client.get("/healthz").json()["default_detector"]["state"] == "cold"

    warmup.start_warming().join(timeout=120)

    body = client.get("/healthz").json()["default_detector"]
    assert body["state"] == "warm" and body["detector"] == "picodet-s-counter"
    assert body["seconds"] > 0


def test_a_detector_that_cannot_load_is_reported_not_raised(
    client, models_ready, settings
) -> None:
    settings.PERSON_DETECTOR = "fcos_resnet50_fpn"  # its file is not in the store

    warmup.warm_default_detector()

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["default_detector"]["state"] == "failed"
    assert "fcos" in body["default_detector"]["error"].lower()


def test_gunicorn_warms_in_the_background_unless_turned_off(
    models_ready, settings, monkeypatch
) -> None:
    started: list[threading.Thread] = []
    monkeypatch.setattr(warmup, "start_warming", lambda: started.append(1))
    monkeypatch.setattr(cnn_warmup, "start_warming", lambda: None)  # its own test
    monkeypatch.setitem(warmup._state, "state", "cold")  # not warmed in a master
    hooks = runpy.run_path(str(REPO_DIR / "gunicorn.conf.py"))

    settings.WARM_DETECTOR = False
    hooks["post_worker_init"](None)
    assert started == []
    settings.WARM_DETECTOR = True
    hooks["post_worker_init"](None)
    assert started == [1]


def test_the_first_request_marks_the_process_warm(
    client, user, samples_dir, models_ready
) -> None:
    from demos.people import services

    services.create_demo_run(
        owner=user,
        data=(samples_dir / "people/grace_hopper.jpg").read_bytes(),
        original_name="g.jpg",
        detector_key=None,
        score_threshold=None,
    )

    assert client.get("/healthz").json()["default_detector"]["state"] == "warm"


@pytest.mark.django_db
def test_the_master_warms_an_onnx_detector_and_workers_inherit_it(
    models_ready, settings, monkeypatch
) -> None:
    started: list[int] = []
    monkeypatch.setattr(warmup, "_state", {"state": "cold", "detector": None})
    monkeypatch.setattr(warmup, "start_warming", lambda: started.append(1))
    monkeypatch.setattr(cnn_warmup, "start_warming", lambda: None)
    settings.WARM_CNN = False
    hooks = runpy.run_path(str(REPO_DIR / "gunicorn.conf.py"))
    assert hooks["_runs_without_torch"]() is True  # ONNX detectors ready
    hooks["when_ready"](None)
    assert warmup.warmth()["state"] == "warm"
    hooks["post_worker_init"](None)
    assert started == []
