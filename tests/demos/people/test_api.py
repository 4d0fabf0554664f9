"""The person-detection API: /api/v1/detectors/ and /api/v1/detections/ (contract)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from demos.models import DemoRun
from tests.factories import make_api_token

pytestmark = pytest.mark.django_db

RUN_KEYS = {
    "id",
    "created",
    "detector",
    "detector_name",
    "detector_parts",
    "score_threshold",
    "image",
    "count",
    "count_low",
    "count_high",
    "unsure",
    "persons",
    "annotated_url",
    "elapsed_ms",
}


def photo(samples_dir: Path, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(Path(name).name, (samples_dir / name).read_bytes())


def post_photo(client: APIClient, samples_dir: Path, name: str, **fields):
    data = {"image": photo(samples_dir, name)} | fields
    return client.post("/api/v1/detections/", data, format="multipart")


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


# --- Detectors -----------------------------------------------------------------


def test_detector_list_shows_students_the_usable_detectors_and_staff_all(
    api, staff_user, models_ready
) -> None:
    response = api.get("/api/v1/detectors/")

    body = response.json()
    assert response.status_code == 200
    assert isinstance(body, list)
    by_key = {row["key"]: row for row in body}
    assert set(body[0]) == {
        "key",
        "name",
        "available",
        "reason",
        "params",
        "gflops",
        "box_ap",
        "license",
    }
    assert by_key["opencv-hog"]["available"] is True
    assert by_key["yolox-nano"]["available"] is True
    assert by_key["yolox-nano"]["box_ap"] == pytest.approx(25.8)
    assert by_key["yolox-nano"]["license"].startswith("Apache-2.0")
    assert by_key["yolox-picodet-wbf"]["available"] is True
    assert "fasterrcnn_resnet50_fpn_v2" not in by_key
    assert all(row["available"] for row in body)
    staff = APIClient()
    staff.force_login(staff_user)
    every = {row["key"]: row for row in staff.get("/api/v1/detectors/").json()}
    faster = every["fasterrcnn_resnet50_fpn_v2"]
    assert faster["available"] is False
    assert "not in the model store" in faster["reason"]


def test_anonymous_client_gets_401(client) -> None:
    assert client.get("/api/v1/detections/").status_code == 401
    assert client.get("/api/v1/detectors/").status_code == 401


# --- Create --------------------------------------------------------------------


def test_posting_a_photo_returns_201_with_the_documented_shape(
    api, samples_dir, models_ready
) -> None:
    response = post_photo(api, samples_dir, "people/apollo11_crew.jpg")

    body = response.json()
    assert response.status_code == 201
    assert set(body) == RUN_KEYS
    assert uuid.UUID(body["id"])
    assert body["detector"] == "picodet-s-counter"  # the default: its part ready
    assert body["detector_name"] == (
        "PicoDet-S 640 person counter (adaptive tiles, doubt range)"
    )
    assert body["detector_parts"] == ["PicoDet-S 416"]
    assert body["score_threshold"] == 0.39
    assert body["image"] == {"width": 600, "height": 471}
    assert body["count"] == len(body["persons"]) == 3
    assert body["count_low"] <= body["count"] <= body["count_high"]
    assert len(body["unsure"]) == body["count_high"] - body["count_low"]
    indexes = [p["index"] for p in body["persons"]]
    assert indexes == sorted(set(indexes)) and indexes[0] >= 1
    lefts = [p["box"][0] for p in body["persons"]]
    assert lefts == sorted(lefts)
    for person in body["persons"]:
        x1, y1, x2, y2 = person["box"]
        assert 0 <= x1 < x2 <= 600 and 0 <= y1 < y2 <= 471
        assert person["score"] >= 0.39
        assert person["crop_url"].startswith("http://testserver/demos/people/")
    assert body["annotated_url"] == (
        f"http://testserver/demos/people/{body['id']}/annotated.jpg"
    )
    assert body["elapsed_ms"] > 0


def test_crop_url_of_the_response_serves_the_crop(
    logged_in_client, samples_dir, models_ready
) -> None:
    response = logged_in_client.post(
        "/api/v1/detections/",
        {"image": photo(samples_dir, "people/grace_hopper.jpg")},
    )

    crop_url = response.json()["persons"][0]["crop_url"]
    crop = logged_in_client.get(crop_url.removeprefix("http://testserver"))
    assert crop.status_code == 200
    assert crop["Content-Type"] == "image/jpeg"


def test_detector_and_threshold_can_be_chosen(api, samples_dir, models_ready) -> None:
    response = post_photo(
        api,
        samples_dir,
        "people/apollo11_crew.jpg",
        detector="fastestdet",
        score_threshold="0.2",
    )

    body = response.json()
    assert response.status_code == 201
    assert body["detector"] == "fastestdet"
    assert body["score_threshold"] == 0.2
    assert body["count"] == len(body["persons"]) >= 3


def test_default_detector_is_hog_when_yolox_is_not_in_the_store(
    api, samples_dir, settings, tmp_path
) -> None:
    settings.MODELS_DIR = tmp_path / "empty-store"

    response = post_photo(api, samples_dir, "nobody/coffee.png")

    assert response.status_code == 201
    assert response.json()["detector"] == "opencv-hog"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("bad/empty.jpg", "The file is empty."),
        ("bad/text.jpg", "not an image"),
        ("bad/html.jpg", "not an image"),
        ("bad/script.svg", "SVG"),
        ("bad/truncated.jpg", "corrupt or truncated"),
        ("bad/bomb.png", "too many pixels"),
        ("bad/big_9000.png", "81.0 megapixels"),
        ("bad/tall_1x100000.png", "1x100000"),
        ("bad/tiny.png", "at least 16 pixels"),
        ("bad/not_an_image.bin", "not an image"),
    ],
)
def test_each_bad_sample_gets_a_clear_400_and_nothing_is_stored(
    api, samples_dir, models_ready, private_media, name, words
) -> None:
    response = post_photo(api, samples_dir, name)

    assert response.status_code == 400
    assert set(response.json()) == {"detail"}
    assert words in response.json()["detail"]
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_file_over_the_size_cap_gets_400_before_decoding(
    api, samples_dir, models_ready, settings, private_media
) -> None:
    settings.MAX_UPLOAD_BYTES = 100_000

    response = post_photo(api, samples_dir, "people/cyclists.jpg")

    assert response.status_code == 400
    assert response.json()["detail"] == "The file is 0.2 MB; the limit is 0.1 MB."
    assert media_files(private_media) == []


@pytest.mark.parametrize(
    "name",
    [
        "bad/polyglot.png",
        "bad/cmyk.jpg",
        "bad/gray16.png",
        "bad/rgba.png",
        "bad/palette.png",
        "bad/exif_rotated.jpg",
        "bad/animated.gif",
    ],
)
def test_unusual_but_valid_photos_are_accepted_with_one_person(
    api, samples_dir, models_ready, name
) -> None:
    response = post_photo(api, samples_dir, name)

    assert response.status_code == 201
    assert response.json()["count"] == 1


def test_exif_rotated_photo_is_served_upright_and_without_exif(
    api, samples_dir, models_ready
) -> None:
    body = post_photo(api, samples_dir, "bad/exif_rotated.jpg").json()

    assert body["image"] == {"width": 512, "height": 600}
    x1, y1, x2, y2 = body["persons"][0]["box"]
    assert y2 - y1 > x2 - x1
    image = api.get(f"/demos/people/{body['id']}/image.jpg")
    data = b"".join(image.streaming_content)
    assert b"Exif\x00\x00" not in data
    assert b"GPS" not in data


def test_polyglot_is_served_as_an_image_without_the_html(
    api, samples_dir, models_ready
) -> None:
    body = post_photo(api, samples_dir, "bad/polyglot.png").json()

    for url in (f"/demos/people/{body['id']}/image.jpg", body["annotated_url"]):
        response = api.get(url.removeprefix("http://testserver"))
        data = (
            b"".join(response.streaming_content)
            if response.streaming
            else response.content
        )
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"<script" not in data.lower()
        assert data.endswith(b"\xff\xd9")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({}, "image"),
        ({"image": "not-a-file"}, "image"),
        ({"score_threshold": "high"}, "score_threshold"),
        ({"score_threshold": "1.5"}, "score_threshold"),
        ({"detector": "yolo-v99"}, "Unknown detector 'yolo-v99'"),
    ],
)
def test_bad_fields_get_a_400_with_detail(
    api, samples_dir, models_ready, private_media, fields, words
) -> None:
    data = {"image": photo(samples_dir, "people/grace_hopper.jpg")} | fields
    if not fields:
        data = {}

    response = api.post("/api/v1/detections/", data, format="multipart")

    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert media_files(private_media) == []


def test_unavailable_detector_gets_503_with_the_reason(
    api, samples_dir, models_ready, private_media
) -> None:
    response = post_photo(
        api, samples_dir, "people/grace_hopper.jpg", detector="fcos_resnet50_fpn"
    )

    assert response.status_code == 503
    assert "fcos_resnet50_fpn" in response.json()["detail"]
    assert "models" in response.json()["detail"]
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_session_upload_without_csrf_token_is_refused(
    user, samples_dir, private_media
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(
        "/api/v1/detections/",
        {"image": photo(samples_dir, "people/grace_hopper.jpg")},
        format="multipart",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_token_client_uploads_without_csrf(user, samples_dir, models_ready) -> None:
    token = make_api_token(user)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = post_photo(client, samples_dir, "people/grace_hopper.jpg")

    assert response.status_code == 201


def test_uploads_are_throttled_per_user(
    api, other_api, samples_dir, models_ready, settings
) -> None:
    settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {
        "DEFAULT_THROTTLE_RATES": {"uploads": "2/min"}
    }

    first = post_photo(api, samples_dir, "bad/empty.jpg")
    second = post_photo(api, samples_dir, "bad/empty.jpg")
    third = post_photo(api, samples_dir, "people/grace_hopper.jpg")
    listing = api.get("/api/v1/detections/")
    someone_else = post_photo(other_api, samples_dir, "people/grace_hopper.jpg")

    assert [first.status_code, second.status_code] == [400, 400]
    assert third.status_code == 429
    assert listing.status_code == 200
    assert someone_else.status_code == 201


# --- Read, re-filter, delete ----------------------------------------------------


def test_list_is_paginated_and_holds_only_your_runs(
    api, other_api, samples_dir, models_ready
) -> None:
    mine = post_photo(api, samples_dir, "people/apollo11_crew.jpg").json()
    post_photo(other_api, samples_dir, "people/grace_hopper.jpg")

    body = api.get("/api/v1/detections/").json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"][0]["id"] == mine["id"]
    assert set(body["results"][0]) == RUN_KEYS


def test_detail_refilters_with_a_threshold(api, samples_dir, models_ready) -> None:
    run_id = post_photo(
        api, samples_dir, "people/apollo11_crew.jpg", detector="yolox-nano"
    ).json()["id"]

    stored = api.get(f"/api/v1/detections/{run_id}/").json()
    strict = api.get(f"/api/v1/detections/{run_id}/?score_threshold=0.7").json()
    nonsense = api.get(f"/api/v1/detections/{run_id}/?score_threshold=lots")

    assert stored["count"] == 3
    assert strict["count"] == len(strict["persons"]) == 2
    assert strict["score_threshold"] == 0.7
    # A person keeps its number when the threshold hides others.
    by_index = {p["index"]: p["box"] for p in stored["persons"]}
    assert all(by_index[p["index"]] == p["box"] for p in strict["persons"])
    assert all(p["score"] >= 0.7 for p in strict["persons"])
    assert strict["annotated_url"].endswith("annotated.jpg?score_threshold=0.7")
    assert nonsense.status_code == 400
    assert "score_threshold" in nonsense.json()["detail"]


def test_crops_zip_matches_the_count(api, samples_dir, models_ready) -> None:
    run_id = post_photo(
        api, samples_dir, "people/apollo11_crew.jpg", detector="yolox-nano"
    ).json()["id"]

    response = api.get(f"/api/v1/detections/{run_id}/crops.zip?score_threshold=0.7")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = json.loads(archive.read("manifest.json"))
    images = [n for n in archive.namelist() if n.endswith(".jpg")]
    assert len(images) == manifest["count"] == 2
    # The file of person #n is person_0n.jpg, as in the page and the download.
    assert images == [f"person_{p['index']:02d}.jpg" for p in manifest["persons"]]
    assert [p["file"] for p in manifest["persons"]] == images
    assert archive.read("manifest.csv").decode().startswith("index,")


def test_delete_returns_204_and_removes_the_files(
    api, samples_dir, models_ready, private_media
) -> None:
    run_id = post_photo(api, samples_dir, "people/apollo11_crew.jpg").json()["id"]

    response = api.delete(f"/api/v1/detections/{run_id}/")

    assert response.status_code == 204
    assert api.get(f"/api/v1/detections/{run_id}/").status_code == 404
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


@pytest.mark.parametrize("suffix", ["", "?score_threshold=0.1", "crops.zip"])
def test_other_user_gets_404_for_someone_elses_run(
    api, other_api, samples_dir, models_ready, suffix
) -> None:
    run_id = post_photo(api, samples_dir, "people/apollo11_crew.jpg").json()["id"]

    response = other_api.get(f"/api/v1/detections/{run_id}/{suffix}")

    assert response.status_code == 404


def test_other_user_cannot_delete_someone_elses_run(
    api, other_api, samples_dir, models_ready, private_media
) -> None:
    run_id = post_photo(api, samples_dir, "people/apollo11_crew.jpg").json()["id"]
    files_before = media_files(private_media)

    response = other_api.delete(f"/api/v1/detections/{run_id}/")

    assert response.status_code == 404
    assert api.get(f"/api/v1/detections/{run_id}/").json()["count"] == 3
    assert media_files(private_media) == files_before


def test_staff_can_read_a_students_run(
    api, staff_user, samples_dir, models_ready
) -> None:
    run_id = post_photo(api, samples_dir, "people/apollo11_crew.jpg").json()["id"]
    staff = APIClient()
    staff.force_login(staff_user)

    response = staff.get(f"/api/v1/detections/{run_id}/")

    assert response.status_code == 200
    assert response.json()["count"] == 3
