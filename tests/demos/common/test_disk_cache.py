"""The feature-map cache stays under its size cap, oldest runs first (issue 21,
finding 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client

from demos.common.disk_cache import cached_runs, trim


def make_run(root: Path, name: str, size: int, written: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "conv1.npz").write_bytes(b"x" * size)
    marker = folder / "run.json"
    marker.write_text("{}")
    os.utime(marker, (written, written))
    return folder


def test_trim_removes_the_oldest_runs_until_under_the_cap(tmp_path: Path) -> None:
    old = make_run(tmp_path, "public/a", 1000, 100)
    middle = make_run(tmp_path, "users/7/b", 1000, 200)
    new = make_run(tmp_path, "users/8/c", 1000, 300)
    (tmp_path / "users/9/partial").mkdir(parents=True)  # no run.json: being written

    removed = trim(tmp_path, 2100)
    assert removed == [old]
    assert [run.folder for run in cached_runs(tmp_path)] == [middle, new]
    assert (tmp_path / "users/9/partial").is_dir()


def test_trim_keeps_the_run_just_written(tmp_path: Path) -> None:
    kept = make_run(tmp_path, "a", 5000, 100)
    other = make_run(tmp_path, "b", 10, 200)
    assert trim(tmp_path, 100, keep=kept) == [other]
    assert kept.is_dir()


def test_trim_of_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    assert trim(tmp_path / "none", 0) == []


@pytest.mark.django_db
def test_feature_maps_past_the_cap_evict_the_oldest_run(
    logged_in_client: Client, settings
) -> None:
    settings.FEATURE_MAP_CACHE_MAX_BYTES = 1  # room for the newest run only
    for sample in ("astronaut", "cat"):
        response = logged_in_client.post(
            "/api/v1/feature-maps/",
            {"sample": sample, "model": "digits-cnn", "layer": "conv1"},
        )
        assert response.status_code == 200
    runs = cached_runs(Path(settings.FEATURE_MAP_CACHE_DIR))
    assert len(runs) == 1
    assert logged_in_client.get(response.json()["grid_url"]).status_code == 200
