from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_media_and_detectors(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["media"]["ok"] is True
    states = {d["key"]: d["state"] for d in body["detectors"]}
    assert states["opencv-hog"] == "builtin"
    assert "yolox-nano" in states


def test_healthz_shows_imported_detector_ready(
    client: Client, models_ready: Path
) -> None:
    states = {d["key"]: d["state"] for d in client.get("/healthz").json()["detectors"]}
    assert states["yolox-nano"] == "ready"
    assert states["fastestdet"] == "ready"


def test_healthz_is_503_when_media_storage_is_not_writable(
    client: Client, settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the media folder should be")
    settings.MEDIA_ROOT = blocker / "media"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["media"]["ok"] is False


def test_healthz_reports_free_disk_space(client: Client) -> None:
    disk = client.get("/healthz").json()["disk"]
    assert disk["ok"] is True
    assert disk["free_mb"] > 0


def test_healthz_is_503_degraded_when_the_disk_is_nearly_full(
    client: Client, settings
) -> None:
    settings.HEALTHZ_MIN_FREE_BYTES = 2**62  # more than any disk has free
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["disk"]["ok"] is False
