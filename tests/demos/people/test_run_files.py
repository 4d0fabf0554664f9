"""A run's derived files: crops cut from the stored photo, ZIP, annotated JPEG.

An upload stores the photo and its thumbnail only; every other file is made from
the stored photo when asked for, behind the same ownership check.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.test import Client
from PIL import Image

from demos.common.imaging import encode_jpeg
from demos.models import DemoRun
from demos.people import derived, services
from tests.support import body_of

pytestmark = pytest.mark.django_db


def make_run(owner, samples_dir: Path, name: str = "people/apollo11_crew.jpg"):
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / name).read_bytes(),
        original_name=Path(name).name,
        detector_key="yolox-nano",
        score_threshold=None,
    )


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_served_crop_is_the_same_region_of_the_stored_photo(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    photo = pixels((private_media / run.image_path).read_bytes())

    for detection in run.detections.all():
        response = logged_in_client.get(
            f"/demos/people/{run.public_id}/crops/{detection.rank}.jpg"
        )
        crop = pixels(body_of(response))
        region = photo[detection.y1 : detection.y2, detection.x1 : detection.x2]
        assert crop.shape == region.shape == (detection.height, detection.width, 3)
        # Both are JPEG q95 of the same pixels: they differ by rounding only.
        assert np.abs(crop - region).mean() < 2.0


def test_crops_are_private_immutable_and_revalidate_with_304(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    url = f"/demos/people/{run.public_id}/crops/1.jpg"

    first = logged_in_client.get(url)
    again = logged_in_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    other_crop = logged_in_client.get(f"/demos/people/{run.public_id}/crops/2.jpg")

    assert first.status_code == 200 and first["Content-Type"] == "image/jpeg"
    cache = first["Cache-Control"]
    assert "private" in cache and "immutable" in cache and "max-age=31536000" in cache
    assert first["X-Content-Type-Options"] == "nosniff"
    assert first["ETag"].startswith(f'"{run.public_id}-crop-1')
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert other_crop["ETag"] != first["ETag"]


def test_another_user_gets_404_for_a_crop_even_with_its_etag(
    logged_in_client, other_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    url = f"/demos/people/{run.public_id}/crops/1.jpg"
    etag = logged_in_client.get(url)["ETag"]

    assert other_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 404
    assert Client().get(url).status_code == 302  # anonymous: to the login page


def test_photo_and_thumbnail_carry_an_etag_too(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    for name in ("image.jpg", "thumb.jpg"):
        url = f"/demos/people/{run.public_id}/{name}"
        etag = logged_in_client.get(url)["ETag"]
        assert logged_in_client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_zip_is_streamed_and_its_crops_are_cut_from_the_stored_photo(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    photo = pixels((private_media / run.image_path).read_bytes())

    response = logged_in_client.get(
        f"/demos/people/{run.public_id}/crops.zip?score_threshold=0.7"
    )

    assert response.streaming and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(body_of(response)))
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["count"] == 2 and manifest["score_threshold"] == 0.7
    for person in manifest["persons"]:
        x1, y1, x2, y2 = person["box"]
        crop = pixels(archive.read(person["file"]))
        assert crop.shape == (y2 - y1, x2 - x1, 3)
        assert np.abs(crop - photo[y1:y2, x1:x2]).mean() < 2.0


def test_annotated_jpeg_is_drawn_on_demand_at_the_asked_threshold(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    base = f"/demos/people/{run.public_id}/annotated.jpg"

    shown = pixels(logged_in_client.get(base).content)
    none = pixels(logged_in_client.get(f"{base}?score_threshold=1").content)
    download = logged_in_client.get(f"{base}?download=1")
    photo = pixels((private_media / run.image_path).read_bytes())

    assert shown.shape == none.shape == photo.shape
    assert np.abs(none - photo).mean() < 2.0  # no box above 1: the photo itself
    assert np.abs(shown - photo).mean() > 2.0  # three boxes drawn in
    assert download["Content-Disposition"].startswith("attachment;")
    assert not (private_media / run.folder / "annotated.jpg").exists()


def test_a_run_stored_the_old_way_is_still_served(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    """Runs from before: crops/<rank>.jpg and annotated.jpg on disk, never read."""
    run = make_run(user, samples_dir)
    folder = private_media / run.folder
    (folder / "crops").mkdir()
    stale = encode_jpeg(np.zeros((8, 8, 3), np.uint8))
    for detection in run.detections.all():
        (folder / "crops" / f"{detection.rank}.jpg").write_bytes(stale)
    (folder / "annotated.jpg").write_bytes(stale)

    first = run.detections.get(rank=1)
    crop = logged_in_client.get(f"/demos/people/{run.public_id}/crops/1.jpg")
    page = logged_in_client.get(f"/demos/people/{run.public_id}/")
    services.delete_demo_run(run=run)

    # Cut from the photo, not the stale 8x8 file.
    assert pixels(crop.content).shape[:2] == (first.height, first.width)
    assert page.status_code == 200
    assert not folder.exists()  # the old files went with the run's folder
    assert DemoRun.objects.count() == 0


def test_a_missing_stored_photo_is_a_404_for_crops_zip_and_annotated(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    derived.forget_stored_photo(run)
    (private_media / run.image_path).unlink()

    for suffix in ("crops/1.jpg", "crops.zip", "annotated.jpg", "image.jpg"):
        response = logged_in_client.get(f"/demos/people/{run.public_id}/{suffix}")
        assert response.status_code == 404, suffix
