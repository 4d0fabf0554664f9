"""The result, compare and upload pages: the SVG overlay, the detector named, the
HOG fallback notice, one threshold for both sides of a comparison."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from demos.models import DemoRun
from demos.people import services

pytestmark = pytest.mark.django_db

BOX_RE = re.compile(
    r'<g class="overlay-box( is-unsure)?" data-overlay-box data-rank="(\d+)" '
    r'data-score="([\d.]+)"(?: data-unsure)?( display="none")?>\s*'
    r'<rect class="box-outline" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"'
    r'[^>]*?( stroke-dasharray="[\d ]+")?></rect>'
    r".*?data-overlay-label>([^<]*)</text>",
    re.S,
)


def make_run(owner, samples_dir: Path, detector: str = "yolox-nano", **kwargs):
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / "people/apollo11_crew.jpg").read_bytes(),
        original_name="apollo11_crew.jpg",
        detector_key=detector,
        score_threshold=kwargs.get("score_threshold"),
    )


def overlay(html: str) -> list[dict]:
    return [
        {
            "rank": int(rank),
            "score": float(score),
            "shown": not hidden,
            "box": [int(x), int(y), int(x) + int(w), int(y) + int(h)],
            "label": label.strip(),
            "unsure": bool(unsure),
            "dashed": bool(dashed),
        }
        for unsure, rank, score, hidden, x, y, w, h, dashed, label in BOX_RE.findall(
            html
        )
    ]


def test_overlay_has_every_stored_box_with_its_number_and_score(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    html = logged_in_client.get(f"/demos/people/{run.public_id}/").content.decode()

    boxes = overlay(html)
    stored = list(run.detections.order_by("rank"))
    assert [b["rank"] for b in boxes] == [d.rank for d in stored]
    assert [b["box"] for b in boxes] == [d.box for d in stored]
    assert [b["score"] for b in boxes] == [d.score for d in stored]
    shown = [b for b in boxes if b["shown"]]
    assert len(shown) == 3
    # Every box carries its own number (its rank), shown or not: one number per
    # person whatever the threshold.
    assert [b["label"] for b in boxes] == [
        f"{b['rank']} · {b['score']:.2f}" for b in boxes
    ]
    assert f'viewBox="0 0 {run.image_width} {run.image_height}"' in html
    assert f'src="/demos/people/{run.public_id}/image.jpg"' in html
    assert "style=" not in html.split('data-testid="box-overlay"')[1].split("</svg>")[0]


def test_overlay_follows_the_threshold_in_the_address(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    html = logged_in_client.get(
        f"/demos/people/{run.public_id}/?score_threshold=0.7"
    ).content.decode()

    default = [
        b
        for b in overlay(
            logged_in_client.get(f"/demos/people/{run.public_id}/").content.decode()
        )
        if b["shown"]
    ]
    shown = [b for b in overlay(html) if b["shown"]]
    assert len(shown) == 2
    numbers = {b["rank"]: b["label"].split(" · ")[0] for b in default}
    assert all(b["label"].split(" · ")[0] == numbers[b["rank"]] for b in shown)
    assert all(b["score"] >= 0.7 for b in shown)
    assert 'data-testid="threshold-shown">0.70<' in html
    assert "annotated.jpg?score_threshold=0.7&amp;download=1" in html


def test_a_fused_result_names_the_detector_its_parts_and_shows_the_fusion_code(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir, detector="yolox-picodet-wbf")

    html = logged_in_client.get(f"/demos/people/{run.public_id}/").content.decode()

    assert "YOLOX-Nano + PicoDet-S (weighted boxes fusion)" in html
    assert re.search(
        r'data-testid="detector-parts">fuses the boxes of YOLOX-Nano \+ PicoDet-S 416<',
        html,
    )
    assert 'data-testid="threshold-shown">0.28<' in html
    assert "def fuse_person_boxes(" in html and "weighted_boxes_fusion(" in html
    assert 'data-testid="fallback-notice"' not in html


def test_hog_fallback_is_said_plainly_on_the_upload_and_result_pages(
    logged_in_client, user, samples_dir, settings, tmp_path
) -> None:
    settings.MODELS_DIR = tmp_path / "no-models"
    run = make_run(user, samples_dir, detector=None)

    upload = logged_in_client.get("/demos/people/").content.decode()
    result = logged_in_client.get(f"/demos/people/{run.public_id}/").content.decode()

    assert run.detector == "opencv-hog"
    for html in (upload, result):
        assert 'data-testid="fallback-notice"' in html
        assert "fallback detector, OpenCV's HOG people detector" in html
        assert "misses seated people, portraits and small people" in html
        assert "An instructor fixes this in the admin's model store" in html
        assert "/admin/" not in html  # students get no link to the admin
    assert 'data-testid="detector-name">OpenCV HOG people detector<' in result


def test_staff_get_the_notice_with_a_link_and_the_admin_store_says_it_first(
    staff_user, settings, tmp_path
) -> None:
    settings.MODELS_DIR = tmp_path / "no-models"
    client = Client()
    client.force_login(staff_user)
    staff_user.is_superuser = True
    staff_user.save()

    upload = client.get("/demos/people/").content.decode()
    admin = client.get("/admin/models_store/modelfile/").content.decode()

    assert 'href="/admin/models_store/modelfile/"' in upload
    assert admin.index('data-testid="fallback-notice"') < admin.index(
        'id="model-store-status"'
    )
    assert "misses seated people, portraits and small people" in admin
    assert "python manage.py models import FOLDER" in admin


def test_no_fallback_notice_in_the_admin_when_a_detector_is_ready(
    staff_user, models_ready
) -> None:
    staff_user.is_superuser = True
    staff_user.save()
    client = Client()
    client.force_login(staff_user)

    admin = client.get("/admin/models_store/modelfile/").content.decode()

    assert 'data-testid="fallback-notice"' not in admin


def test_compare_runs_each_detector_at_its_own_threshold_with_its_own_slider(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir, score_threshold=0.45)

    response = logged_in_client.post(
        f"/demos/people/{run.public_id}/compare/", {"detector": "picodet-s-416"}
    )
    other = DemoRun.objects.get(compared_with=run)
    page = logged_in_client.get(response["Location"]).content.decode()
    strict = logged_in_client.get(
        response["Location"] + "?score_threshold=0.45&other_threshold=0.8"
    ).content.decode()

    assert run.score_threshold == 0.45 and other.score_threshold == 0.34
    assert page.count("data-threshold ") == 2  # one slider per side
    assert page.count('data-testid="box-overlay"') == 2
    first, second = strict.split('data-testid="compare-side"')[1:]
    assert 'data-testid="threshold-shown">0.45<' in first
    assert 'data-testid="threshold-shown">0.80<' in second
    assert all(b["score"] >= 0.8 for b in overlay(second) if b["shown"])


def test_counter_result_says_how_many_are_sure_and_dashes_the_unsure_boxes(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir, detector="picodet-s-counter")
    run.detections.filter(rank=1).update(is_unsure=True)
    run.count_low, run.count_high = 2, 3
    run.save(update_fields=["count_low", "count_high"])

    html = logged_in_client.get(
        f"/demos/people/{run.public_id}/", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()

    assert "사람 2명 · 1명은 불확실" in html
    boxes = overlay(html)
    assert [b["rank"] for b in boxes if b["unsure"]] == [1]
    assert [b["rank"] for b in boxes if b["dashed"]] == [1]
    assert 'class="unsure-tag">불확실<' in html


def test_result_of_a_detector_without_a_doubt_range_shows_no_range(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir)

    html = logged_in_client.get(f"/demos/people/{run.public_id}/").content.decode()

    assert 'data-testid="count-range"' not in html
    assert not any(b["dashed"] for b in overlay(html))


def test_counter_result_names_the_detector_in_korean_and_shows_its_own_code(
    logged_in_client, user, samples_dir, models_ready
) -> None:
    run = make_run(user, samples_dir, detector="picodet-s-counter")

    html = logged_in_client.get(
        f"/demos/people/{run.public_id}/", HTTP_ACCEPT_LANGUAGE="ko"
    ).content.decode()

    assert "PicoDet-S 640 사람 세기 (적응형 타일, 불확실 범위)" in html
    assert "타일 네 장" in html
    assert "needs_tiles(" in html and "small_bonus" in html
    assert "weighted_boxes_fusion" not in html
