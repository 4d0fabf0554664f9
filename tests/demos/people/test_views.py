"""Person demo pages: upload, result, threshold, ZIP, compare, delete, history, files.

Requests use literal paths: the URLs are part of the contract.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from demos.models import DemoRun, Detection
from demos.people import services
from tests.factories import make_api_token

pytestmark = pytest.mark.django_db

COUNT_RE = re.compile(r'data-testid="person-count">(\d+)<')


def upload(samples_dir: Path, name: str, as_name: str | None = None):
    data = (samples_dir / name).read_bytes()
    return SimpleUploadedFile(as_name or Path(name).name, data)


def make_run(owner, samples_dir: Path, name: str = "people/apollo11_crew.jpg"):
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / name).read_bytes(),
        original_name=Path(name).name,
        detector_key="yolox-nano",
        score_threshold=None,
    )


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def shown_count(html: str) -> int:
    return int(COUNT_RE.search(html).group(1))


def visible_crops(html: str) -> list[str]:
    return re.findall(r'<li class="crop"\s+data-crop', html)


def body(response) -> bytes:
    """A response's bytes, streamed (files, ZIP) or not (rendered images)."""
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def staff_client(staff_user) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client


# --- Login ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/demos/people/",
        "/demos/people/history/",
        "/demos/people/00000000-0000-0000-0000-000000000000/",
        "/demos/people/00000000-0000-0000-0000-000000000000/image.jpg",
    ],
)
def test_anonymous_visitor_is_sent_to_login_with_next(client, path) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


# --- Upload --------------------------------------------------------------------


def test_upload_page_offers_students_only_the_detectors_they_can_use(
    logged_in_client, models_ready
) -> None:
    response = logged_in_client.get("/demos/people/")

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'<option value="picodet-s-counter" selected[^>]*>', html)
    assert 'data-default-threshold="0.28"' in html
    for key in ("opencv-hog", "yolox-nano", "fastestdet", "picodet-s-416"):
        assert re.search(rf'<option value="{key}"[^>]*>', html)
    assert "fcos_resnet50_fpn" not in html and "FCOS" not in html
    assert "manage.py models pull" not in html
    assert 'data-testid="staff-detector-note"' not in html
    assert 'data-testid="fallback-notice"' not in html
    assert 'type="range"' in html
    assert "data-max-files=" in html


def test_staff_see_the_unavailable_detectors_with_reason_and_fix(
    staff_client, models_ready
) -> None:
    html = staff_client.get("/demos/people/").content.decode()

    assert re.search(r'<option value="fcos_resnet50_fpn" disabled[^>]*>', html)
    assert 'data-testid="staff-detector-note"' in html
    assert "manage.py models pull fcos_resnet50_fpn" in html
    assert "/admin/models_store/modelfile/" in html


def test_uploading_one_photo_leads_to_its_result_page(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    response = logged_in_client.post(
        "/demos/people/",
        {
            "images": upload(samples_dir, "people/apollo11_crew.jpg"),
            "detector": "yolox-nano",
            "score_threshold": "0.5",
        },
    )

    run = DemoRun.objects.get(owner=user)
    assert response.status_code == 302
    assert response["Location"] == f"/demos/people/{run.public_id}/"
    assert run.score_threshold == 0.5
    page = logged_in_client.get(response["Location"]).content.decode()
    assert shown_count(page) == 3
    assert len(visible_crops(page)) == 3
    assert f"/demos/people/{run.public_id}/crops/1.jpg" in page
    assert f"/demos/people/{run.public_id}/annotated.jpg" in page
    assert "apollo11_crew.jpg" in page


def test_uploading_several_photos_makes_one_run_each_and_shows_history(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    response = logged_in_client.post(
        "/demos/people/",
        {
            "images": [
                upload(samples_dir, "people/apollo11_crew.jpg"),
                upload(samples_dir, "people/grace_hopper.jpg"),
                upload(samples_dir, "nobody/coffee.png"),
            ],
            "detector": "yolox-nano",
        },
    )

    assert response.status_code == 302
    new = ",".join(str(r.public_id) for r in DemoRun.objects.order_by("pk"))
    assert response["Location"] == f"/demos/people/history/?new={new}"
    assert sorted(DemoRun.objects.values_list("original_name", flat=True)) == [
        "apollo11_crew.jpg",
        "coffee.png",
        "grace_hopper.jpg",
    ]


def test_bad_file_among_good_ones_is_reported_by_its_escaped_name(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    evil = "<img src=x onerror=alert(1)>.jpg"
    response = logged_in_client.post(
        "/demos/people/",
        {
            "images": [
                upload(samples_dir, "people/grace_hopper.jpg"),
                upload(samples_dir, "bad/html.jpg", as_name=evil),
            ],
            "detector": "yolox-nano",
        },
        follow=True,
    )

    html = response.content.decode()
    assert DemoRun.objects.filter(owner=user).count() == 1
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg was not processed" in html
    assert "not an image" in html
    assert "<img src=x" not in html
    assert not any("onerror" in str(p) for p in media_files(private_media))


def test_only_bad_files_show_form_errors_and_store_nothing(
    logged_in_client, samples_dir, models_ready, private_media
) -> None:
    response = logged_in_client.post(
        "/demos/people/",
        {
            "images": [
                upload(samples_dir, "bad/empty.jpg"),
                upload(samples_dir, "bad/script.svg"),
            ],
            "detector": "yolox-nano",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "empty.jpg was not processed: The file is empty." in html
    assert "script.svg was not processed: SVG" in html
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_too_many_files_are_refused_with_a_form_error(
    logged_in_client, samples_dir, private_media, settings
) -> None:
    files = [
        upload(samples_dir, "people/grace_hopper.jpg", as_name=f"p{i}.jpg")
        for i in range(settings.MAX_FILES_PER_UPLOAD + 1)
    ]

    response = logged_in_client.post(
        "/demos/people/", {"images": files, "detector": "opencv-hog"}
    )

    assert response.status_code == 200
    assert "You can upload at most 10 photos at once." in response.content.decode()
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_unavailable_detector_is_refused(
    logged_in_client, staff_client, samples_dir, models_ready
) -> None:
    posted = {"detector": "fasterrcnn_resnet50_fpn_v2"}
    student = logged_in_client.post(
        "/demos/people/",
        posted | {"images": upload(samples_dir, "people/grace_hopper.jpg")},
    ).content.decode()
    staff = staff_client.post(
        "/demos/people/",
        posted | {"images": upload(samples_dir, "people/grace_hopper.jpg")},
    ).content.decode()

    assert "Select a valid choice" in student
    assert "manage.py models pull" not in student
    assert "is not available" in staff
    assert "manage.py models pull fasterrcnn_resnet50_fpn_v2" in staff
    assert DemoRun.objects.count() == 0


def test_upload_without_csrf_token_is_forbidden_and_stores_nothing(
    user, samples_dir, private_media
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(
        "/demos/people/",
        {"images": upload(samples_dir, "people/grace_hopper.jpg")},
    )

    assert response.status_code == 403
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


# --- Result page ---------------------------------------------------------------


def test_result_page_shows_count_crops_and_how_it_works(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    response = logged_in_client.get(f"/demos/people/{run.public_id}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert shown_count(html) == 3
    assert len(visible_crops(html)) == 3
    assert "onnxruntime" in html  # the how-it-works code of the ONNX family
    assert 'href="/lessons/object-detection/"' in html
    assert f'href="/lessons/feature-maps/?run={run.public_id}"' in html
    assert f"/demos/people/{run.public_id}/crops.zip?score_threshold=0.59" in html
    assert re.search(r"\d+×\d+", html)  # crop sizes
    assert 'data-testid="detector-name">YOLOX-Nano<' in html
    assert 'data-testid="threshold-shown">0.59<' in html


def test_threshold_in_the_address_refilters_stored_detections(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    stored = run.detections.count()

    strict = logged_in_client.get(f"/demos/people/{run.public_id}/?score_threshold=0.7")
    loose = logged_in_client.get(f"/demos/people/{run.public_id}/?score_threshold=0")
    nonsense = logged_in_client.get(f"/demos/people/{run.public_id}/?score_threshold=x")

    assert shown_count(strict.content.decode()) == 2
    assert len(visible_crops(strict.content.decode())) == 2
    assert shown_count(loose.content.decode()) == stored
    assert shown_count(nonsense.content.decode()) == 3
    assert run.detections.count() == stored  # the model did not run again


def test_zip_download_has_manifests_and_one_crop_per_person(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    response = logged_in_client.get(f"/demos/people/{run.public_id}/crops.zip")
    strict = logged_in_client.get(
        f"/demos/people/{run.public_id}/crops.zip?score_threshold=0.7"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    names = archive.namelist()
    assert "manifest.json" in names and "manifest.csv" in names
    manifest = json.loads(archive.read("manifest.json"))
    crops = [n for n in names if n.endswith(".jpg")]
    assert len(crops) == manifest["count"] == 3
    assert {p["file"] for p in manifest["persons"]} == set(crops)
    strict_names = zipfile.ZipFile(io.BytesIO(body(strict))).namelist()
    assert len([n for n in strict_names if n.endswith(".jpg")]) == 2


def test_compare_runs_the_photo_through_another_detector_side_by_side(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    response = logged_in_client.post(
        f"/demos/people/{run.public_id}/compare/", {"detector": "fastestdet"}
    )

    other = DemoRun.objects.get(compared_with=run)
    assert response.status_code == 302
    assert response["Location"] == (
        f"/demos/people/{run.public_id}/compare/{other.public_id}/"
    )
    page = logged_in_client.get(response["Location"]).content.decode()
    assert page.count('data-testid="compare-side"') == 2
    assert "YOLOX-Nano" in page and "FastestDet" in page
    assert [int(n) for n in COUNT_RE.findall(page)] == [3, 3]
    assert f"/demos/people/{other.public_id}/annotated.jpg" in page
    assert page.count(" ms<") >= 2
    # Each detector at its own default threshold, with its own slider.
    assert other.score_threshold == 0.68 and run.score_threshold == 0.59
    assert re.findall(r'name="(\w+)"[^>]*data-testid="compare-threshold"', page) == [
        "score_threshold",
        "other_threshold",
    ]
    moved = logged_in_client.get(
        f"/demos/people/{run.public_id}/compare/{other.public_id}/?other_threshold=0.99"
    ).content.decode()
    shown = re.findall(r'data-testid="threshold-shown">([\d.]+)<', moved)
    assert shown == ["0.59", "0.99"]


def test_compare_with_an_unavailable_detector_explains_why_to_staff(
    staff_client, staff_user, samples_dir, models_ready
) -> None:
    run = make_run(staff_user, samples_dir)

    response = staff_client.post(
        f"/demos/people/{run.public_id}/compare/",
        {"detector": "retinanet_resnet50_fpn_v2"},
    )

    # The result page again, the reason beside the compare select (not at the top).
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(r'data-testid="compare-error">([^<]*)<', html)
    assert error and "is not available" in error.group(1)
    assert html.index('name="detector"') < error.start()
    assert DemoRun.objects.count() == 1


def test_delete_removes_the_run_and_its_files(
    logged_in_client, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)

    response = logged_in_client.post(f"/demos/people/{run.public_id}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/demos/people/history/"
    assert DemoRun.objects.count() == 0
    assert Detection.objects.count() == 0
    assert media_files(private_media) == []
    assert logged_in_client.get(f"/demos/people/{run.public_id}/").status_code == 404


def test_delete_needs_a_post(logged_in_client, user, samples_dir, models_ready) -> None:
    run = make_run(user, samples_dir)

    response = logged_in_client.get(f"/demos/people/{run.public_id}/delete/")

    assert response.status_code == 405
    assert DemoRun.objects.count() == 1


# --- History -------------------------------------------------------------------


def test_history_lists_only_your_own_runs(
    logged_in_client, user, other_user, samples_dir, models_ready
) -> None:
    mine = make_run(user, samples_dir)
    theirs = make_run(other_user, samples_dir, "people/grace_hopper.jpg")

    html = logged_in_client.get("/demos/people/history/").content.decode()

    assert f"/demos/people/{mine.public_id}/thumb.jpg" in html
    assert str(theirs.public_id) not in html
    assert "3 people" in html
    assert "YOLOX-Nano" in html


def test_staff_history_lists_everyones_runs_with_their_owner(
    staff_user, user, other_user, samples_dir, models_ready
) -> None:
    first = make_run(user, samples_dir)
    second = make_run(other_user, samples_dir, "people/grace_hopper.jpg")
    client = Client()
    client.force_login(staff_user)

    html = client.get("/demos/people/history/").content.decode()

    assert str(first.public_id) in html and str(second.public_id) in html
    assert "by alice" in html and "by bob" in html


def test_history_is_paginated(logged_in_client, user) -> None:
    for index in range(30):
        DemoRun.objects.create(
            owner=user,
            detector="opencv-hog",
            score_threshold=0.5,
            original_name=f"photo-{index}.jpg",
            image_path="x",
            thumbnail_path="x",
            image_sha256="0" * 64,
            image_width=100,
            image_height=100,
            elapsed_ms=1.0,
        )

    first = logged_in_client.get("/demos/people/history/").content.decode()
    second = logged_in_client.get("/demos/people/history/?page=2").content.decode()

    assert first.count('data-testid="run-card"') == 24
    assert second.count('data-testid="run-card"') == 6
    assert "Page 2 of 2" in second


# --- Files ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "suffix", ["image.jpg", "annotated.jpg", "thumb.jpg", "crops/1.jpg"]
)
def test_run_files_are_private_jpegs(
    logged_in_client, user, samples_dir, models_ready, suffix
) -> None:
    run = make_run(user, samples_dir)

    response = logged_in_client.get(f"/demos/people/{run.public_id}/{suffix}")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    with Image.open(io.BytesIO(body(response))) as image:
        assert image.format == "JPEG"
        assert not image.getexif()


def test_original_and_annotated_images_keep_the_photo_size(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    for suffix in ("image.jpg", "annotated.jpg", "annotated.jpg?score_threshold=0.7"):
        response = logged_in_client.get(f"/demos/people/{run.public_id}/{suffix}")
        with Image.open(io.BytesIO(body(response))) as image:
            assert image.size == (600, 471)


def test_crop_download_is_an_attachment_and_unknown_rank_is_404(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    download = logged_in_client.get(
        f"/demos/people/{run.public_id}/crops/1.jpg?download=1"
    )
    missing = logged_in_client.get(f"/demos/people/{run.public_id}/crops/999.jpg")

    assert download["Content-Disposition"] == 'attachment; filename="person_01.jpg"'
    assert missing.status_code == 404


def test_api_token_can_fetch_a_crop(user, samples_dir, models_ready) -> None:
    run = make_run(user, samples_dir)
    token = make_api_token(user)

    response = Client().get(
        f"/demos/people/{run.public_id}/crops/1.jpg",
        HTTP_AUTHORIZATION=f"Token {token}",
    )

    assert response.status_code == 200


@pytest.mark.parametrize(
    "suffix",
    [
        "",
        "image.jpg",
        "annotated.jpg",
        "thumb.jpg",
        "crops/1.jpg",
        "crops.zip",
        "compare/00000000-0000-0000-0000-000000000000/",
    ],
)
def test_other_user_gets_404_for_every_page_and_file(
    other_client, user, samples_dir, models_ready, private_media, suffix
) -> None:
    run = make_run(user, samples_dir)
    files_before = media_files(private_media)

    response = other_client.get(f"/demos/people/{run.public_id}/{suffix}")

    assert response.status_code == 404
    assert media_files(private_media) == files_before


def test_other_user_cannot_delete_or_compare_someone_elses_run(
    other_client, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)
    files_before = media_files(private_media)

    deleted = other_client.post(f"/demos/people/{run.public_id}/delete/")
    compared = other_client.post(
        f"/demos/people/{run.public_id}/compare/", {"detector": "fastestdet"}
    )

    assert deleted.status_code == 404
    assert compared.status_code == 404
    assert DemoRun.objects.count() == 1
    assert run.detections.count() > 0
    assert media_files(private_media) == files_before


def test_staff_can_see_a_students_run_and_files(
    staff_user, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)
    client = Client()
    client.force_login(staff_user)

    page = client.get(f"/demos/people/{run.public_id}/")
    crop = client.get(f"/demos/people/{run.public_id}/crops/1.jpg")

    assert page.status_code == 200
    assert "uploaded by alice" in page.content.decode()
    assert crop.status_code == 200


# --- Admin ---------------------------------------------------------------------


@pytest.fixture
def admin_client_for(db) -> Client:
    from tests.factories import make_user

    admin = make_user(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_admin_lists_runs_with_thumbnails_and_shows_detections(
    admin_client_for, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    listing = admin_client_for.get("/admin/demos/demorun/")
    change = admin_client_for.get(f"/admin/demos/demorun/{run.pk}/change/")

    assert listing.status_code == 200
    assert f"/demos/people/{run.public_id}/thumb.jpg" in listing.content.decode()
    assert change.status_code == 200
    html = change.content.decode()
    assert f"/demos/people/{run.public_id}/annotated.jpg" in html
    assert f"/demos/people/{run.public_id}/crops/1.jpg" in html


def test_admin_delete_removes_the_runs_files(
    admin_client_for, user, samples_dir, models_ready, private_media
) -> None:
    run = make_run(user, samples_dir)

    response = admin_client_for.post(
        "/admin/demos/demorun/",
        {"action": "delete_selected", "_selected_action": [run.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_malformed_run_id_is_404_not_500(user) -> None:
    from django.http import Http404

    from demos.people.selectors import get_demo_run_for_user

    with pytest.raises(Http404):
        get_demo_run_for_user(user, "not-a-uuid")
