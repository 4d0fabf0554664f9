"""Decompression bombs are refused from the header: memory stays flat.

Measured in a fresh interpreter (its own peak resident memory, ``VmHWM``), so the
test's own allocations do not blur the figure. A control decode of the same
9000x9000 file with a raised cap shows the measurement would notice a real decode.
No database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

SCRIPT = """
import json, resource, sys
from pathlib import Path
from demos.common.imaging import ImageLimits, ImageRefused, decode_image

bad = Path(sys.argv[1])
names = ("bomb.png", "big_9000.png", "tall_1x100000.png")
files = {name: (bad / name).read_bytes() for name in names}
limits = ImageLimits(
    max_bytes=15 * 2**20, max_pixels=40_000_000, max_side=10_000, min_side=16
)

def peak_mb():
    # VmHWM is this process's own peak; ru_maxrss would carry the parent's
    # (the pytest process) across fork + exec.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

before = peak_mb()
refused = {}
for name, data in files.items():
    try:
        decode_image(data, limits)
    except ImageRefused as exc:
        refused[name] = type(exc).__name__
after_refusals = peak_mb()
generous = ImageLimits(15 * 2**20, 100_000_000, 10_000, 16, 2**32, 10**9)
decode_image(files["big_9000.png"], generous)
after_decode = peak_mb()
print(json.dumps({
    "refused": refused,
    "refusals_mb": after_refusals - before,
    "decode_mb": after_decode - before,
    "django": "django" in sys.modules,
}))
"""


def test_bomb_9000px_and_1x100000_are_refused_before_decoding(samples_dir) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(samples_dir / "bad")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = json.loads(result.stdout)

    assert figures["refused"] == {
        "bomb.png": "ImageTooLarge",
        "big_9000.png": "ImageTooLarge",
        "tall_1x100000.png": "ImageTooLarge",
    }
    # 81 Mpx decoded is at least 81 MB (greyscale), 243 MB as RGB.
    assert figures["refusals_mb"] < 20
    assert figures["decode_mb"] > 200
    assert figures["django"] is False
