"""``manage.py detect_people``: counts per photo, crops on disk, no database rows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from demos.models import DemoRun

pytestmark = pytest.mark.django_db


def test_prints_the_count_per_photo_and_writes_the_crops(
    samples_dir, models_ready, tmp_path
) -> None:
    out = StringIO()

    call_command(
        "detect_people",
        str(samples_dir / "people" / "apollo11_crew.jpg"),
        str(samples_dir / "nobody" / "coffee.png"),
        "--out",
        str(tmp_path / "crops"),
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"{samples_dir / 'people' / 'apollo11_crew.jpg'}: 3")
    assert "picodet-s-counter" in lines[0]  # the default with its part ready
    assert lines[1].startswith(f"{samples_dir / 'nobody' / 'coffee.png'}: 0")
    crops = sorted((tmp_path / "crops" / "apollo11_crew").iterdir())
    assert [p.name for p in crops] == [
        "person_01.jpg",
        "person_02.jpg",
        "person_03.jpg",
    ]
    with Image.open(crops[0]) as crop:
        assert crop.format == "JPEG"
    assert not (tmp_path / "crops" / "coffee").exists() or not any(
        (tmp_path / "crops" / "coffee").iterdir()
    )
    assert DemoRun.objects.count() == 0


def test_detector_and_threshold_options_are_used(
    samples_dir, models_ready, tmp_path
) -> None:
    out = StringIO()

    call_command(
        "detect_people",
        str(samples_dir / "people" / "apollo11_crew.jpg"),
        "--detector",
        "fastestdet",
        "--threshold",
        "0.99",
        "--out",
        str(tmp_path),
        stdout=out,
    )

    assert ": 0  (fastestdet, threshold 0.99" in out.getvalue()


def test_verbose_output_lists_each_crop_with_its_box(
    samples_dir, models_ready, tmp_path
) -> None:
    out = StringIO()

    call_command(
        "detect_people",
        str(samples_dir / "people" / "grace_hopper.jpg"),
        "--out",
        str(tmp_path),
        verbosity=2,
        stdout=out,
    )

    assert "person_01.jpg  box=[" in out.getvalue()


def test_bad_photo_is_reported_and_the_others_still_run(
    samples_dir, models_ready, tmp_path
) -> None:
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match="1 photo"):
        call_command(
            "detect_people",
            str(samples_dir / "bad" / "script.svg"),
            str(samples_dir / "people" / "grace_hopper.jpg"),
            "--out",
            str(tmp_path),
            stdout=out,
            stderr=err,
        )

    assert "script.svg: SVG" in err.getvalue()
    assert "grace_hopper.jpg: 1" in out.getvalue()


def test_unavailable_detector_stops_with_the_fix(samples_dir, tmp_path) -> None:
    with pytest.raises(CommandError, match="models"):
        call_command(
            "detect_people",
            str(samples_dir / "people" / "grace_hopper.jpg"),
            "--detector",
            "fcos_resnet50_fpn",
            "--out",
            str(tmp_path),
            stdout=StringIO(),
        )
