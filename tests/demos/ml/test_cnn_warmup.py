"""Warming the feature-map lesson's ImageNet CNN at server start (off the request
path), and /healthz reporting it."""

from __future__ import annotations

import runpy

import pytest

from demos.ml import cnn_warmup, networks
from tests.conftest import REPO_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cold_process(monkeypatch):
    monkeypatch.setattr(cnn_warmup, "_state", {"state": "cold", "model": None})


def test_warming_builds_the_lessons_cnn_and_healthz_says_so(
    client, monkeypatch
) -> None:
    networks.clear_cache()
    assert client.get("/healthz").json()["feature_map_cnn"]["state"] == "cold"

    cnn_warmup.start_warming().join(timeout=300)

    body = client.get("/healthz").json()["feature_map_cnn"]
    assert body["state"] == "warm" and body["model"] == "efficientnet-lite0"
    assert body["seconds"] > 0

    # The request path now finds it built: building again would fail here.
    def no_second_build(spec):
        raise AssertionError("built twice")

    monkeypatch.setattr(networks, "_build", no_second_build)
    assert networks.get_cnn_model("efficientnet-lite0").run  # type: ignore[truthy-function]


def test_a_cnn_that_cannot_load_is_reported_not_raised(client, monkeypatch) -> None:
    def broken(key: str):
        raise networks.CnnModelUnavailable("the wheel is not installed")

    monkeypatch.setattr(networks, "get_cnn_model", broken)

    cnn_warmup.warm_feature_map_cnn()

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["feature_map_cnn"]["state"] == "failed"
    assert "wheel" in body["feature_map_cnn"]["error"]


def test_gunicorn_warms_the_cnn_unless_turned_off(settings, monkeypatch) -> None:
    from demos.ml.detection import warmup

    started: list[int] = []
    monkeypatch.setattr(cnn_warmup, "start_warming", lambda: started.append(1))
    monkeypatch.setattr(warmup, "start_warming", lambda: None)
    monkeypatch.setitem(cnn_warmup._state, "state", "cold")  # not warmed in a master
    hooks = runpy.run_path(str(REPO_DIR / "gunicorn.conf.py"))

    settings.WARM_CNN = False
    hooks["post_worker_init"](None)
    assert started == []
    settings.WARM_CNN = True
    hooks["post_worker_init"](None)
    assert started == [1]
