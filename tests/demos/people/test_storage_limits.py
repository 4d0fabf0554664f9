"""One student cannot fill the disk (issue 21, finding 2).

A 0.85 MB PNG of fine detail used to be stored as an 11.6 MB JPEG (quality 95 at
full size). Now photos are stored at most 2048 px on the long side at quality 85
(lower where that would still pass the upload's size), each student has a storage
quota with a clear message, and uploads are refused with 507 while the disk is
below the minimum ``/healthz`` checks.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from demos.common import media
from demos.models import DemoRun
from demos.people import services
from tests.support import media_files

pytestmark = pytest.mark.django_db

API = "/api/v1/detections/"
PAGE = "/demos/people/"


def detailed_png(width: int = 4000, height: int = 3000) -> bytes:
    """A small PNG (one noisy 64 px tile repeated) that JPEG cannot make small."""
    tile = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    rgb = np.tile(tile, (height // 64 + 1, width // 64 + 1, 1))[:height, :width]
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def photo(name: str = "photo.jpg", side: int = 320) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side * 3 // 4), (90, 140, 200)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), "image/jpeg")


def post(client: Client, upload: SimpleUploadedFile, **extra):
    return client.post(API, {"image": upload, "detector": "opencv-hog"}, **extra)


def test_a_large_detailed_png_is_stored_capped_and_no_larger_than_uploaded(
    logged_in_client: Client,
) -> None:
    data = detailed_png()
    response = post(logged_in_client, SimpleUploadedFile("pattern.png", data))
    assert response.status_code == 201
    run = DemoRun.objects.get()
    # Decoded at half size (MAX_WORKING_PIXELS), then capped at PHOTO_MAX_SIDE.
    assert (run.image_width, run.image_height) == (2000, 1500)
    assert max(run.image_width, run.image_height) <= services.PHOTO_MAX_SIDE
    stored = media.read_bytes(run.image_path)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (2000, 1500) and image.format == "JPEG"
    thumbnail = media.read_bytes(run.thumbnail_path)
    assert run.stored_bytes == len(stored) + len(thumbnail)
    # Was 11.6 MB for this 0.85 MB upload; now at most what was uploaded (or 1 MB).
    assert len(stored) <= max(len(data), services.PHOTO_BYTES_FLOOR)


def test_an_ordinary_photo_keeps_its_size(logged_in_client: Client) -> None:
    assert post(logged_in_client, photo(side=640)).status_code == 201
    run = DemoRun.objects.get()
    assert (run.image_width, run.image_height) == (640, 480)


def test_the_storage_quota_refuses_with_a_clear_message(
    logged_in_client: Client, user, settings
) -> None:
    assert post(logged_in_client, photo()).status_code == 201
    used = DemoRun.objects.get().stored_bytes
    settings.STORAGE_QUOTA_BYTES = used  # full now
    response = post(logged_in_client, photo("second.jpg"))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "of your 0 MB" in detail and "Delete some runs" in detail
    assert DemoRun.objects.count() == 1

    DemoRun.objects.get().delete()  # deleting a run frees its share
    assert post(logged_in_client, photo("third.jpg")).status_code == 201


def test_a_batch_past_the_quota_names_each_refused_file(
    logged_in_client: Client, settings
) -> None:
    assert post(logged_in_client, photo("first.jpg")).status_code == 201
    settings.STORAGE_QUOTA_BYTES = DemoRun.objects.get().stored_bytes * 2 + 1
    files = [photo("a.jpg"), photo("b.jpg"), photo("c.jpg")]
    response = logged_in_client.post(
        PAGE, {"images": files, "detector": "opencv-hog"}, follow=True
    )
    page = response.content.decode()
    assert DemoRun.objects.count() == 2  # first.jpg and a.jpg
    assert "b.jpg was not processed" in page and "c.jpg was not processed" in page
    assert "Delete some runs" in page


def test_the_quota_is_per_student(
    logged_in_client: Client, other_user, settings
) -> None:
    assert post(logged_in_client, photo()).status_code == 201
    settings.STORAGE_QUOTA_BYTES = DemoRun.objects.get().stored_bytes
    classmate = Client()
    classmate.force_login(other_user)
    assert post(classmate, photo()).status_code == 201


def test_uploads_get_507_while_the_disk_is_low(
    logged_in_client: Client, settings
) -> None:
    settings.HEALTHZ_MIN_FREE_BYTES = 2**62  # more than any disk has free
    assert logged_in_client.get("/healthz").status_code == 503  # the same rule

    response = post(logged_in_client, photo())
    assert response.status_code == 507
    assert "disk is almost full" in response.json()["detail"]

    page = logged_in_client.post(PAGE, {"images": [photo()], "detector": "opencv-hog"})
    assert page.status_code == 507
    assert "disk is almost full" in page.content.decode()

    queued = logged_in_client.post(
        API + "?async=1", {"image": photo(), "detector": "opencv-hog"}
    )
    assert queued.status_code == 507
    assert not DemoRun.objects.exists()
    assert media_files(Path(settings.MEDIA_ROOT)) == []


def test_the_long_side_is_capped_at_2048(logged_in_client: Client, settings) -> None:
    settings.MAX_WORKING_PIXELS = 40_000_000  # decoded at full size: the cap acts
    assert post(logged_in_client, photo(side=3000)).status_code == 201
    run = DemoRun.objects.get()
    assert (run.image_width, run.image_height) == (2048, 1536)
