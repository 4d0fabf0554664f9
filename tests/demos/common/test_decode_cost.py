"""Finding 7: what a decode allocates is bounded, not just the declared pixels.

A 1-bit 6324x6324 PNG is a few kilobytes, passes the 40-megapixel cap and used to
cost ~400 MB and seconds to decode. Photos above the working size are now decoded
at a reduced size (JPEG at 1/2..1/8 scale via ``draft``, others with ``reduce``
before the RGB conversion), and images whose decode would allocate more than
``max_decode_bytes`` are refused from the header. No database.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demos.common.imaging import ImageLimits, ImageTooLarge, decode_cost, decode_image
from tests.conftest import SAMPLES_DIR

REPO = Path(__file__).resolve().parents[3]
LIMITS = ImageLimits(
    max_bytes=15 * 2**20, max_pixels=40_000_000, max_side=10_000, min_side=16
)


def one_bit_png(side: int = 6324) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def test_a_tiny_one_bit_png_of_40_megapixels_is_decoded_at_working_size() -> None:
    data = one_bit_png()
    assert len(data) < 20_000
    decoded = decode_image(data, LIMITS)
    assert decoded.width * decoded.height <= LIMITS.max_working_pixels
    assert (decoded.width, decoded.height) == (3162, 3162)
    assert decoded.rgb[0, 0].tolist() == [255, 255, 255]


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_with_its_aspect_kept() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 30, 30)).save(buffer, "JPEG")
    small = ImageLimits(15 * 2**20, 40_000_000, 10_000, 16, max_working_pixels=10**6)
    decoded = decode_image(buffer.getvalue(), small)
    assert decoded.width * decoded.height <= 10**6
    assert abs(decoded.width / decoded.height - 4 / 3) < 0.01
    assert np.abs(decoded.rgb[0, 0].astype(int) - [200, 30, 30]).max() < 8


def test_a_palette_image_keeps_its_colours_when_reduced() -> None:
    image = Image.new("RGB", (2000, 2000), (0, 114, 178)).convert(
        "P", palette=Image.Palette.ADAPTIVE
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    small = ImageLimits(15 * 2**20, 40_000_000, 10_000, 16, max_working_pixels=10**6)
    decoded = decode_image(buffer.getvalue(), small)
    assert (decoded.width, decoded.height) == (1000, 1000)
    assert decoded.rgb[500, 500].tolist() == [0, 114, 178]


def test_exif_rotation_survives_a_reduced_decode() -> None:
    data = (SAMPLES_DIR / "bad" / "exif_rotated.jpg").read_bytes()
    small = ImageLimits(15 * 2**20, 40_000_000, 10_000, 16, max_working_pixels=80_000)
    decoded = decode_image(data, small)
    assert decoded.height > decoded.width
    assert decoded.width * decoded.height <= 80_000


def test_an_image_whose_decode_would_take_too_much_memory_is_refused() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 3000), "white").save(buffer, "PNG")
    tight = ImageLimits(15 * 2**20, 40_000_000, 10_000, 16, max_decode_bytes=20 * 2**20)
    assert decode_cost("RGB", (3000, 3000), tight) > 20 * 2**20
    with pytest.raises(ImageTooLarge, match="memory; the limit is 20 MB"):
        decode_image(buffer.getvalue(), tight)


SCRIPT = """
import json, sys
from pathlib import Path
from demos.common.imaging import ImageLimits, decode_image

data = Path(sys.argv[1]).read_bytes()
def peak_mb():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
before = peak_mb()
decode_image(data, ImageLimits(15 * 2**20, 40_000_000, 10_000, 16))
print(json.dumps({"decode_mb": peak_mb() - before}))
"""


def test_decoding_the_one_bit_png_allocates_what_an_ordinary_photo_does(
    tmp_path: Path,
) -> None:
    path = tmp_path / "one_bit.png"
    path.write_bytes(one_bit_png())
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    # Full size it was ~420 MB (40 Mpx as RGB, twice, plus the 1-bit buffer).
    assert json.loads(result.stdout)["decode_mb"] < 160
