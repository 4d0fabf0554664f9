"""Which failures say "try again" (503) and which are the operator's (500).

Finding 10: a missing table (``manage.py migrate`` not run; here the cache table)
is a configuration error: 500 and an error log, never the 503 "the database is
busy". Finding 11: a media folder that cannot be written is a 503 with a JSON body
on the API and the 503 page on the site, never a bare HTML 500.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from demos.models import DemoRun
from tests.support import upload

pytestmark = pytest.mark.django_db

PHOTO = "people/grace_hopper.jpg"
BUSY = "busy"


@pytest.fixture
def missing_cache_table(settings) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache_never_created",
        }
    }


def _clients(user) -> tuple[Client, APIClient]:
    page = Client(raise_request_exception=False)
    page.force_login(user)
    api = APIClient(raise_request_exception=False)
    api.force_login(user)
    return page, api


def test_a_missing_cache_table_is_a_500_on_the_api_and_logged(
    user, samples_dir, missing_cache_table, caplog
) -> None:
    _, api = _clients(user)
    with caplog.at_level(logging.ERROR):
        response = api.post(
            "/api/v1/detections/",
            {"image": upload(samples_dir, PHOTO), "detector": "opencv-hog"},
        )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert BUSY not in response.json()["detail"]
    assert "tell your instructor" in response.json()["detail"]
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert "portal_cache_never_created" in str(logged[0].exc_info[1])


def test_a_missing_cache_table_is_the_500_page_on_the_site(
    user, samples_dir, missing_cache_table
) -> None:
    page, _ = _clients(user)
    response = page.post(
        "/demos/people/",
        {"images": upload(samples_dir, PHOTO), "detector": "opencv-hog"},
    )
    assert response.status_code == 500
    assert "Retry-After" not in response


@pytest.fixture
def read_only_media(private_media: Path):
    """MEDIA_ROOT that refuses writes: chmod for ordinary users, chattr as root."""
    private_media.chmod(0o555)
    immutable = False
    probe = private_media / ".probe"
    try:
        probe.touch()
    except OSError:
        pass
    else:
        probe.unlink()
        immutable = (
            subprocess.run(["chattr", "+i", str(private_media)], check=False).returncode
            == 0
        )
        if not immutable:
            pytest.skip("cannot make a folder read-only here")
    yield private_media
    if immutable:
        subprocess.run(["chattr", "-i", str(private_media)], check=False)
    os.chmod(private_media, 0o755)


def test_a_read_only_media_folder_is_a_json_503_on_the_api(
    user, samples_dir, read_only_media
) -> None:
    _, api = _clients(user)
    response = api.post(
        "/api/v1/detections/",
        {"image": upload(samples_dir, PHOTO), "detector": "opencv-hog"},
    )
    assert response.status_code == 503
    assert "cannot store files" in response.json()["detail"]
    assert response["Retry-After"]
    assert DemoRun.objects.count() == 0


def test_a_read_only_media_folder_is_the_503_page_on_the_site(
    user, samples_dir, read_only_media
) -> None:
    page, _ = _clients(user)
    response = page.post(
        "/demos/people/",
        {"images": upload(samples_dir, PHOTO), "detector": "opencv-hog"},
    )
    assert response.status_code == 503
    assert "cannot store files" in response.content.decode()
    assert DemoRun.objects.count() == 0
