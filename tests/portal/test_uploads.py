"""Files per request (portal.lib.uploads): every endpoint takes at most
MAX_FILES_PER_REQUEST files; only the transfer page's photos per class, wrapped
in accepts_files, take up to TRANSFER_MAX_PHOTOS (one more gets its own reason).
The person demo's side is in tests/demos/people/test_bad_uploads_*.py."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.test import Client

from demos.models import TransferRun

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/transfer-runs/"


@pytest.fixture(autouse=True)
def no_throttle_counts() -> None:
    cache.clear()


def photos(count: int) -> list[io.BytesIO]:
    out = []
    for i in range(count):
        handle = io.BytesIO(b"photo")  # refused for its labels before decoding
        handle.name = f"IMG_{i}.jpg"
        out.append(handle)
    return out


def post_photos(client: Client, count: int, labels: int):
    names = ["cat", "plane"] * labels
    return client.post(RUNS, {"photos": photos(count), "labels": names[:labels]})


def test_the_photos_endpoint_reads_all_of_its_maximum(
    logged_in_client: Client, settings
) -> None:
    most = settings.TRANSFER_MAX_PHOTOS
    assert most > settings.MAX_FILES_PER_REQUEST

    response = post_photos(logged_in_client, most, labels=most - 1)

    # Parsed whole: the view counted every photo (and refused the labels).
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Send one class name (labels) for each photo (photos): "
        f"got {most - 1} names for {most} photos."
    }
    assert not TransferRun.objects.exists()


def test_one_photo_too_many_gets_the_photos_own_reason(
    logged_in_client: Client, settings
) -> None:
    count = settings.TRANSFER_MAX_PHOTOS + 1

    response = post_photos(logged_in_client, count, labels=count)

    assert response.status_code == 400
    assert (
        f"You sent {count} photos; at most {settings.TRANSFER_MAX_PHOTOS} at once."
        in response.json()["detail"]
    )


def test_the_photos_limit_follows_the_setting(
    logged_in_client: Client, settings
) -> None:
    settings.TRANSFER_MAX_PHOTOS = settings.MAX_FILES_PER_REQUEST  # read per request
    count = settings.MAX_FILES_PER_REQUEST + 2

    response = post_photos(logged_in_client, count, labels=count)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Too many files in one request; send one photo per request."
    }
