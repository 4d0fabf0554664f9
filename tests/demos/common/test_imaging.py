"""demos/common/imaging.py: every sample and bad upload gets its documented outcome."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from demos.common.imaging import (
    ImageLimits,
    ImageTooLarge,
    InvalidImage,
    UnsupportedFormat,
    crop_box,
    decode_image,
    draw_boxes,
    encode_jpeg,
    encode_png,
    make_thumbnail,
)
from portal.lib.errors import BadInput
from tests.conftest import SAMPLES_DIR

LIMITS = ImageLimits(
    max_bytes=15 * 1024 * 1024, max_pixels=40_000_000, max_side=10_000, min_side=16
)
BAD = SAMPLES_DIR / "bad"


def read(relative: str) -> bytes:
    return (SAMPLES_DIR / relative).read_bytes()


@pytest.mark.parametrize(
    ("name", "error", "words"),
    [
        ("empty.jpg", InvalidImage, "empty"),
        ("text.jpg", InvalidImage, "not an image"),
        ("html.jpg", InvalidImage, "not an image"),
        ("not_an_image.bin", InvalidImage, "not an image"),
        ("script.svg", UnsupportedFormat, "SVG"),
        ("truncated.jpg", InvalidImage, "truncated"),
        ("bomb.png", ImageTooLarge, "pixels"),
        ("big_9000.png", ImageTooLarge, "81.0 megapixels"),
        ("tall_1x100000.png", ImageTooLarge, "100000"),
        ("tiny.png", InvalidImage, "at least 16 pixels"),
    ],
)
def test_rejects_bad_upload_with_a_clear_message(
    name: str, error: type[BadInput], words: str
) -> None:
    with pytest.raises(error) as caught:
        decode_image((BAD / name).read_bytes(), LIMITS)
    assert isinstance(caught.value, BadInput)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("name", "fmt", "size"),
    [
        ("cmyk.jpg", "JPEG", (512, 600)),
        ("gray16.png", "PNG", (256, 300)),
        ("rgba.png", "PNG", (256, 300)),
        ("palette.png", "PNG", (256, 300)),
        ("polyglot.png", "PNG", (256, 300)),
        ("animated.gif", "GIF", (256, 300)),
        ("exif_rotated.jpg", "JPEG", (512, 600)),
    ],
)
def test_accepts_unusual_upload_as_8_bit_rgb(
    name: str, fmt: str, size: tuple[int, int]
) -> None:
    decoded = decode_image((BAD / name).read_bytes(), LIMITS)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == size
    assert decoded.rgb.shape == (size[1], size[0], 3)
    assert decoded.rgb.dtype == np.uint8


def test_sixteen_bit_greyscale_is_scaled_not_clipped_to_white() -> None:
    decoded = decode_image((BAD / "gray16.png").read_bytes(), LIMITS)
    reference = decode_image((BAD / "palette.png").read_bytes(), LIMITS)
    assert abs(float(decoded.rgb.mean()) - float(reference.rgb.mean())) < 10


def test_transparent_border_is_flattened_onto_white() -> None:
    decoded = decode_image((BAD / "rgba.png").read_bytes(), LIMITS)
    assert decoded.rgb[0, 0].tolist() == [255, 255, 255]


def test_exif_rotated_photo_becomes_upright_taller_than_wide() -> None:
    decoded = decode_image((BAD / "exif_rotated.jpg").read_bytes(), LIMITS)
    upright = decode_image(read("people/grace_hopper.jpg"), LIMITS)
    assert decoded.height > decoded.width
    # Same picture as the upright original (JPEG noise aside).
    difference = np.abs(decoded.rgb.astype(int) - upright.rgb.astype(int)).mean()
    assert difference < 12


def test_animated_gif_gives_its_first_frame_only() -> None:
    decoded = decode_image((BAD / "animated.gif").read_bytes(), LIMITS)
    first = Image.open(BAD / "animated.gif")
    first.seek(0)
    assert np.array_equal(decoded.rgb, np.asarray(first.convert("RGB")))


def test_sha256_is_of_the_uploaded_bytes() -> None:
    import hashlib

    data = read("people/jockey.jpg")
    assert decode_image(data, LIMITS).sha256 == hashlib.sha256(data).hexdigest()


def test_byte_cap_is_checked_before_decoding() -> None:
    small = ImageLimits(max_bytes=1000, max_pixels=10**9, max_side=10**5, min_side=1)
    with pytest.raises(ImageTooLarge, match="the limit is"):
        decode_image(read("people/jockey.jpg"), small)


def test_tiff_and_bmp_are_unsupported_formats() -> None:
    for fmt in ("TIFF", "BMP"):
        buffer = io.BytesIO()
        Image.new("RGB", (64, 64), "red").save(buffer, fmt)
        with pytest.raises(UnsupportedFormat, match=fmt):
            decode_image(buffer.getvalue(), LIMITS)


def test_webp_is_accepted() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buffer, "WEBP")
    decoded = decode_image(buffer.getvalue(), LIMITS)
    assert decoded.format == "WEBP"
    assert (decoded.width, decoded.height) == (64, 48)


def test_reencoded_jpeg_carries_no_exif_or_gps() -> None:
    decoded = decode_image((BAD / "exif_rotated.jpg").read_bytes(), LIMITS)
    data = encode_jpeg(decoded.rgb)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == (512, 600)
    assert not image.getexif()
    assert b"Exif" not in data[:4096]


def test_polyglot_trailing_html_is_dropped_on_reencoding() -> None:
    decoded = decode_image((BAD / "polyglot.png").read_bytes(), LIMITS)
    for data in (encode_png(decoded.rgb), encode_jpeg(decoded.rgb)):
        assert b"<script" not in data.lower()
        assert b"<html" not in data.lower()


def test_png_round_trip_is_lossless() -> None:
    rgb = decode_image(read("people/camera.png"), LIMITS).rgb
    again = np.asarray(Image.open(io.BytesIO(encode_png(rgb))).convert("RGB"))
    assert np.array_equal(rgb, again)


def test_crop_has_exactly_the_box_size_and_pixels() -> None:
    rgb = decode_image(read("people/cyclists.jpg"), LIMITS).rgb
    crop = crop_box(rgb, (408, 21, 863, 720))
    assert crop.shape == (699, 455, 3)
    assert np.array_equal(crop, rgb[21:720, 408:863])
    crop[:] = 0  # a copy: the original is untouched
    assert rgb[21:720, 408:863].any()


@pytest.mark.parametrize("box", [(0, 0, 0, 10), (5, 5, 4, 9), (-1, 0, 10, 10)])
def test_crop_refuses_empty_or_outside_boxes(box: tuple[int, int, int, int]) -> None:
    rgb = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="empty or outside"):
        crop_box(rgb, box)


def test_draw_boxes_returns_a_marked_copy_of_the_same_size() -> None:
    rgb = decode_image(read("people/apollo11_crew.jpg"), LIMITS).rgb
    before = rgb.copy()
    boxes = [(10, 10, 200, 400), (150, 50, 400, 460), (0, 0, 600, 471)]
    drawn = draw_boxes(rgb, boxes, ["1", "2", "3"])
    assert drawn.shape == rgb.shape
    assert np.array_equal(rgb, before)
    assert not np.array_equal(drawn, rgb)
    assert drawn[300, 10].tolist() != rgb[300, 10].tolist()  # left edge of box 1


def test_draw_boxes_scales_lines_with_the_photo() -> None:
    small = draw_boxes(np.zeros((200, 200, 3), np.uint8), [(50, 50, 150, 150)], [""])
    large = draw_boxes(
        np.zeros((2000, 2000, 3), np.uint8), [(500, 500, 1500, 1500)], [""]
    )
    small_line = int((small[100, 40:70].sum(axis=1) > 0).sum())
    large_line = int((large[1000, 480:540].sum(axis=1) > 0).sum())
    assert large_line > small_line >= 2


def test_draw_boxes_needs_one_label_per_box() -> None:
    with pytest.raises(ValueError):
        draw_boxes(np.zeros((50, 50, 3), np.uint8), [(0, 0, 10, 10)], [])


def test_thumbnail_fits_the_longest_side_and_never_upscales() -> None:
    pen = decode_image(read("nobody/pen.jpg"), LIMITS).rgb  # 1853 x 2638
    thumb = make_thumbnail(pen, 320)
    assert max(thumb.shape[:2]) == 320
    assert thumb.shape[0] > thumb.shape[1]
    tiny = np.zeros((40, 30, 3), np.uint8)
    assert make_thumbnail(tiny, 320).shape == (40, 30, 3)


def test_refusal_keeps_its_msgid_and_parameters_for_translation() -> None:
    from django.utils import translation

    with pytest.raises(ImageTooLarge) as caught:
        decode_image((BAD / "big_9000.png").read_bytes(), LIMITS)
    error = caught.value
    assert error.template.startswith("The image has %(pixels).1f megapixels")
    assert error.params == {"pixels": 81.0, "limit": 40.0}
    with translation.override("ko"):
        assert "81.0" in str(error)  # translated or not, the numbers are filled in
