"""A photo with broken EXIF, and any other decoder failure, never gives a 500
(issue 21, finding 3).

A JPEG with Orientation 6 and an XResolution tag stored as text made Pillow's
``ImageOps.exif_transpose`` raise ``TypeError`` on every image path, the anonymous
kernel playground included. Now the photo is turned upright from the orientation
tag alone; a decoder failure of any other type is a clear 400 for that file, and a
multi-photo upload reports each file's fate.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, ImageOps, TiffImagePlugin

from demos.common import imaging
from demos.common.imaging import ImageLimits, InvalidImage, decode_image
from demos.models import DemoRun

LIMITS = ImageLimits(
    max_bytes=10 * 2**20, max_pixels=50_000_000, max_side=10_000, min_side=16
)


def jpeg_with_exif(
    orientation: int, *, broken: bool, size: tuple[int, int] = (96, 64)
) -> bytes:
    """A ``size`` JPEG (left half red, right half blue, a dark stroke in the middle
    that the digits demo reads as ink) with an EXIF orientation; ``broken`` also
    stores XResolution (a RATIONAL) as ASCII text, as some phones and editors do."""
    ifd = TiffImagePlugin.ImageFileDirectory_v2()
    ifd[0x0112] = orientation
    if broken:
        ifd[0x011A] = "72"
        ifd.tagtype[0x011A] = 2  # ASCII
    exif = b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + ifd.tobytes(8)
    image = Image.new("RGB", size, (220, 30, 30))
    image.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))
    if size[0] > 100:
        image.paste((255, 255, 255), (0, 0, size[0], size[1]))
        image.paste((0, 0, 0), (size[0] // 2 - 12, 40, size[0] // 2 + 12, size[1] - 40))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def test_pillow_itself_fails_on_the_broken_exif() -> None:
    # The premise: if Pillow ever copes, this file no longer tests anything.
    data = jpeg_with_exif(6, broken=True)
    with Image.open(io.BytesIO(data)) as image, pytest.raises(TypeError):
        ImageOps.exif_transpose(image)


def test_a_photo_with_broken_exif_is_turned_upright() -> None:
    decoded = decode_image(jpeg_with_exif(6, broken=True), LIMITS)
    # Orientation 6: stored 96 x 64, shown rotated a quarter turn clockwise.
    assert (decoded.width, decoded.height) == (64, 96)
    top, bottom = decoded.rgb[5, 32], decoded.rgb[-5, 32]
    assert top[0] > 150 and top[2] < 100  # the red half is now on top
    assert bottom[2] > 150 and bottom[0] < 100


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillows_own_transpose(orientation: int) -> None:
    data = jpeg_with_exif(orientation, broken=False)
    with Image.open(io.BytesIO(data)) as image:
        expected = ImageOps.exif_transpose(image).convert("RGB")
    decoded = decode_image(data, LIMITS)
    assert decoded.rgb.shape[:2] == (expected.height, expected.width)
    assert (decoded.rgb == np.asarray(expected)).all()


def test_any_other_decoder_failure_is_a_clear_refusal(monkeypatch) -> None:
    def explode(image: Image.Image) -> Image.Image:
        raise TypeError("a decoder bug on a hostile file")

    monkeypatch.setattr(imaging, "_upright", explode)
    with pytest.raises(InvalidImage) as refused:
        decode_image(jpeg_with_exif(1, broken=False), LIMITS)
    assert "not an image we can read" in str(refused.value)


# --- every image path, anonymous ones included -------------------------------------

PATHS = [
    ("/api/v1/playgrounds/kernel/", {"preset": "sharpen"}, "image", False),
    ("/lessons/arch/augment/", {"seed": "1", "count": "4"}, "image", True),
    ("/api/v1/augmentations/", {"seed": "1", "count": "4"}, "image", True),
    ("/api/v1/digits/predict/", {}, "image", True),
    (
        "/api/v1/feature-maps/",
        {"model": "digits-cnn", "layer": "conv1"},
        "image",
        True,
    ),
    ("/api/v1/detections/", {"detector": "opencv-hog"}, "image", True),
    ("/demos/people/", {"detector": "opencv-hog"}, "images", True),
]


def _post(client: Client, path: str, fields: dict, field: str, data: bytes):
    body = dict(fields) | {field: SimpleUploadedFile("phone.jpg", data, "image/jpeg")}
    return client.post(path, body)


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "fields", "field", "login"), PATHS)
def test_every_image_path_accepts_the_broken_exif_photo(
    path: str, fields: dict, field: str, login: bool, client: Client, user
) -> None:
    if login:
        client.force_login(user)
    data = jpeg_with_exif(6, broken=True, size=(320, 240))
    response = _post(client, path, fields, field, data)
    if path == "/demos/people/":  # saved: on to the run's page
        assert response.status_code == 302
        assert DemoRun.objects.get().image_width == 240  # stored upright
    else:
        assert response.status_code in (200, 201), response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "fields", "field", "login"), PATHS)
def test_every_image_path_answers_a_decoder_failure_with_400(
    path: str, fields: dict, field: str, login: bool, client: Client, user, monkeypatch
) -> None:
    def explode(image: Image.Image) -> Image.Image:
        raise TypeError("a decoder bug on a hostile file")

    monkeypatch.setattr(imaging, "_upright", explode)
    if login:
        client.force_login(user)
    data = jpeg_with_exif(6, broken=True, size=(320, 240))
    response = _post(client, path, fields, field, data)
    if path == "/demos/people/":  # the page shows the form again, naming the file
        assert response.status_code == 200
        assert "phone.jpg" in response.content.decode()
    else:
        assert response.status_code == 400
    assert not DemoRun.objects.exists()


@pytest.mark.django_db
def test_a_batch_reports_each_files_fate(logged_in_client: Client, monkeypatch) -> None:
    good = jpeg_with_exif(1, broken=False, size=(320, 240))
    bad = jpeg_with_exif(6, broken=True, size=(320, 240))
    real_upright = imaging._upright

    def explode_on_turned(image: Image.Image) -> Image.Image:
        if image.getexif().get(0x0112) == 6:
            raise TypeError("a decoder bug on a hostile file")
        return real_upright(image)

    monkeypatch.setattr(imaging, "_upright", explode_on_turned)
    files = [
        SimpleUploadedFile("first.jpg", good, "image/jpeg"),
        SimpleUploadedFile("broken.jpg", bad, "image/jpeg"),
        SimpleUploadedFile("third.jpg", good, "image/jpeg"),
    ]
    response = logged_in_client.post(
        "/demos/people/", {"images": files, "detector": "opencv-hog"}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "broken.jpg" in page and "not an image we can read" in page
    names = sorted(DemoRun.objects.values_list("original_name", flat=True))
    assert names == ["first.jpg", "third.jpg"]


def mpo(first: Image.Image, second: Image.Image) -> bytes:
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    return buffer.getvalue()


def test_an_mpo_photo_is_read_as_its_first_frame() -> None:
    # Phones with a depth camera save MPO: a JPEG followed by a second image.
    red = Image.new("RGB", (120, 80), (220, 30, 30))
    blue = Image.new("RGB", (60, 90), (30, 30, 220))
    data = mpo(red, blue)
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "MPO" and image.n_frames == 2
    decoded = decode_image(data, LIMITS)
    assert decoded.format == "JPEG"
    assert (decoded.width, decoded.height) == (120, 80)
    assert decoded.rgb[40, 60, 0] > 150


@pytest.mark.django_db
def test_an_mpo_photo_is_accepted_by_the_person_demo(logged_in_client: Client) -> None:
    data = mpo(Image.new("RGB", (320, 240), (90, 140, 200)), Image.new("RGB", (8, 8)))
    response = logged_in_client.post(
        "/api/v1/detections/",
        {"image": SimpleUploadedFile("depth.jpg", data), "detector": "opencv-hog"},
    )
    assert response.status_code == 201


def test_a_39_megapixel_mpo_is_decoded_at_a_reduced_scale() -> None:
    # MPO is a JPEG: DCT scaling applies to it too (finding 8: 39 MP photos).
    big = Image.new("RGB", (7200, 5400), (90, 140, 200))
    limits = ImageLimits(
        max_bytes=10 * 2**20,
        max_pixels=40_000_000,
        max_side=10_000,
        min_side=16,
        max_working_pixels=6_000_000,
    )
    decoded = decode_image(mpo(big, Image.new("RGB", (8, 8))), limits)
    assert decoded.width * decoded.height <= 6_000_000
