"""create_demo_run and friends: rows, files, re-encoding, all-or-nothing saving."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from demos.ml.detection.detectors import DetectorUnavailable
from demos.models import DemoRun, Detection
from demos.people import derived, services
from portal.lib.errors import BadInput

pytestmark = pytest.mark.django_db


def media_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def create(owner, samples_dir: Path, name: str, **kwargs) -> DemoRun:
    options = {"detector_key": "yolox-nano", "score_threshold": None} | kwargs
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / name).read_bytes(),
        original_name=Path(name).name,
        **options,
    )


def test_stores_run_rows_and_files_for_the_apollo_crew(
    user, samples_dir, models_ready, private_media
) -> None:
    run = create(user, samples_dir, "people/apollo11_crew.jpg")

    assert run.owner == user
    assert run.detector == "yolox-nano"
    assert (run.image_width, run.image_height) == (600, 471)
    assert run.original_name == "apollo11_crew.jpg"
    folder = private_media / "runs" / str(user.pk) / str(run.public_id)
    # Only the photo and its thumbnail: crops and the annotated image are cut and
    # drawn from the photo when asked for.
    assert sorted(p.name for p in folder.rglob("*")) == ["image.jpg", "thumb.jpg"]
    shown = [d for d in run.detections.all() if d.score >= run.score_threshold]
    assert len(shown) == 3
    assert all(d.score >= 0.05 for d in run.detections.all())


def test_every_crop_has_the_pixel_size_of_its_box(
    user, samples_dir, models_ready, private_media
) -> None:
    run = create(user, samples_dir, "people/cyclists.jpg")

    detections = list(run.detections.all())
    assert detections
    for detection in detections:
        with Image.open(io.BytesIO(derived.crop_jpeg(run, detection))) as crop:
            assert crop.size == (detection.width, detection.height)


def test_detections_are_ranked_left_to_right(user, samples_dir, models_ready) -> None:
    run = create(user, samples_dir, "people/apollo11_crew.jpg")

    ranks = [d.rank for d in run.detections.all()]
    lefts = [d.x1 for d in run.detections.all()]
    assert ranks == list(range(1, len(ranks) + 1))
    assert lefts == sorted(lefts)


def test_default_threshold_is_the_detectors_own(
    user, samples_dir, models_ready
) -> None:
    yolox = create(user, samples_dir, "people/grace_hopper.jpg")
    fastest = create(
        user, samples_dir, "people/grace_hopper.jpg", detector_key="fastestdet"
    )
    chosen = create(user, samples_dir, "people/grace_hopper.jpg", score_threshold=0.3)

    assert yolox.score_threshold == 0.59  # chosen on coco128-person (bench/)
    assert fastest.score_threshold == 0.68
    assert chosen.score_threshold == 0.3


def test_default_detector_is_the_counter_when_its_part_is_ready(
    user, samples_dir, models_ready
) -> None:
    run = create(user, samples_dir, "people/grace_hopper.jpg", detector_key=None)

    assert run.detector == "picodet-s-counter"
    assert run.score_threshold == 0.39
    assert [d.score >= 0.39 for d in run.detections.all()].count(True) == 1
    assert run.count_low == 1 and run.count_high >= 1
    unsure = [d for d in run.detections.all() if d.is_unsure]
    assert len(unsure) == run.count_high - run.count_low
    assert all(0.31 <= d.score < 0.51 for d in unsure)


def test_default_detector_is_hog_without_model_files(
    user, samples_dir, settings, tmp_path
) -> None:
    settings.MODELS_DIR = tmp_path / "empty-store"

    run = create(user, samples_dir, "people/grace_hopper.jpg", detector_key=None)

    assert run.detector == "opencv-hog"


def test_polyglot_png_is_stored_as_a_clean_jpeg(
    user, samples_dir, models_ready, private_media
) -> None:
    run = create(user, samples_dir, "bad/polyglot.png")

    for path in media_files(private_media):
        data = path.read_bytes()
        assert data.startswith(b"\xff\xd8")  # JPEG
        assert data.endswith(b"\xff\xd9")  # nothing after the end-of-image marker
        assert b"<script" not in data.lower()
        assert b"<html" not in data.lower()
    assert run.detections.filter(score__gte=run.score_threshold).count() == 1


def test_exif_rotated_photo_is_stored_upright_without_exif(
    user, samples_dir, models_ready, private_media
) -> None:
    run = create(user, samples_dir, "bad/exif_rotated.jpg")

    assert (run.image_width, run.image_height) == (512, 600)
    for path in media_files(private_media):
        with Image.open(path) as image:
            assert not image.getexif()
            assert "exif" not in image.info
        assert b"Exif\x00\x00" not in path.read_bytes()
    person = run.detections.filter(score__gte=run.score_threshold).get()
    assert person.height > person.width


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("bad/empty.jpg", "empty"),
        ("bad/text.jpg", "not an image"),
        ("bad/html.jpg", "not an image"),
        ("bad/script.svg", "SVG"),
        ("bad/truncated.jpg", "truncated"),
        ("bad/bomb.png", "pixels"),
        ("bad/big_9000.png", "megapixels"),
        ("bad/tall_1x100000.png", "100000"),
        ("bad/tiny.png", "at least"),
        ("bad/not_an_image.bin", "not an image"),
    ],
)
def test_bad_file_is_refused_and_nothing_is_stored(
    user, samples_dir, private_media, name, words
) -> None:
    with pytest.raises(BadInput, match=words):
        create(user, samples_dir, name, detector_key="opencv-hog")

    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_failure_while_saving_detections_leaves_no_rows_and_no_files(
    user, samples_dir, models_ready, private_media, monkeypatch
) -> None:
    def broken_full_clean(self, *args, **kwargs):
        raise RuntimeError("simulated fault after the files were written")

    monkeypatch.setattr(Detection, "full_clean", broken_full_clean)

    with pytest.raises(RuntimeError, match="simulated"):
        create(user, samples_dir, "people/apollo11_crew.jpg")

    assert DemoRun.objects.count() == 0
    assert Detection.objects.count() == 0
    assert media_files(private_media) == []


def test_failure_while_saving_the_run_leaves_no_files(
    user, samples_dir, models_ready, private_media, monkeypatch
) -> None:
    def broken_save(self, *args, **kwargs):
        raise OSError("simulated disk or database fault")

    monkeypatch.setattr(DemoRun, "save", broken_save)

    with pytest.raises(OSError, match="simulated"):
        create(user, samples_dir, "people/grace_hopper.jpg")

    assert media_files(private_media) == []


def test_unknown_detector_is_refused(user, samples_dir, private_media) -> None:
    with pytest.raises(BadInput, match="Unknown detector 'yolo-v99'"):
        create(user, samples_dir, "people/grace_hopper.jpg", detector_key="yolo-v99")

    assert media_files(private_media) == []


def test_threshold_outside_zero_to_one_is_refused(user, samples_dir) -> None:
    with pytest.raises(BadInput, match="between 0 and 1"):
        create(
            user,
            samples_dir,
            "people/grace_hopper.jpg",
            detector_key="opencv-hog",
            score_threshold=1.5,
        )


def test_missing_detector_file_is_unavailable_with_the_fix(
    user, samples_dir, settings, tmp_path, private_media
) -> None:
    settings.MODELS_DIR = tmp_path / "empty-store"

    with pytest.raises(DetectorUnavailable, match="models"):
        create(user, samples_dir, "people/grace_hopper.jpg")

    assert DemoRun.objects.count() == 0
    assert media_files(private_media) == []


def test_compare_runs_the_stored_photo_through_another_detector(
    user, samples_dir, models_ready
) -> None:
    run = create(user, samples_dir, "people/apollo11_crew.jpg")

    other = services.compare_demo_run(run=run, detector_key="fastestdet")

    assert other.detector == "fastestdet"
    assert other.owner == user
    assert other.compared_with == run
    assert other.image_sha256 == run.image_sha256
    assert (other.image_width, other.image_height) == (600, 471)
    assert other.detections.filter(score__gte=other.score_threshold).count() == 3


def test_delete_removes_rows_and_files(
    user, samples_dir, models_ready, private_media
) -> None:
    run = create(user, samples_dir, "people/apollo11_crew.jpg")
    keep = create(user, samples_dir, "people/grace_hopper.jpg")

    services.delete_demo_run(run=run)

    assert not DemoRun.objects.filter(pk=run.pk).exists()
    assert Detection.objects.filter(run_id=run.pk).count() == 0
    assert not (private_media / run.folder).exists()
    assert (private_media / keep.image_path).is_file()


def test_crops_zip_holds_one_file_per_person_and_both_manifests(
    user, samples_dir, models_ready
) -> None:
    run = create(user, samples_dir, "people/apollo11_crew.jpg")

    archive = zipfile.ZipFile(io.BytesIO(derived.build_crops_zip(run)))
    strict = zipfile.ZipFile(io.BytesIO(derived.build_crops_zip(run, 0.7)))

    images = [n for n in archive.namelist() if n.endswith(".jpg")]
    shown = [d for d in run.detections.all() if d.score >= run.score_threshold]
    assert images == [f"person_{d.rank:02d}.jpg" for d in shown]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["count"] == 3
    assert [p["file"] for p in manifest["persons"]] == images
    assert [p["index"] for p in manifest["persons"]] == [d.rank for d in shown]
    first = manifest["persons"][0]
    with Image.open(io.BytesIO(archive.read(images[0]))) as crop:
        assert crop.size == (
            first["box"][2] - first["box"][0],
            first["box"][3] - first["box"][1],
        )
    rows = archive.read("manifest.csv").decode().splitlines()
    assert rows[0] == "index,x1,y1,x2,y2,score,file"
    assert len(rows) == 4
    assert len([n for n in strict.namelist() if n.endswith(".jpg")]) == 2
