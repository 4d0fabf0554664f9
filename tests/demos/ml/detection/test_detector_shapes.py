"""Every available detector survives every photo shape (finding 2).

OpenCV's HOG crashed the whole process (segfault) on photos 64-94 px tall after
scaling: a 300x80 JPEG killed a worker. The sweep runs in a child interpreter per
detector, printing each size before trying it, so a crash fails this test (naming
the size) instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from demos.ml.detection.detectors import detector_choices
from demos.people.selectors import is_available

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[4]

# Every side from 1 to 160 px (the crashing band and all window sizes), then
# every 7th up to 300, each way; and long panoramas both ways.
SIDES = list(range(1, 161)) + list(range(161, 301, 7))
SHAPES = (
    [(300, side) for side in SIDES]
    + [(side, 300) for side in SIDES]
    + [(side, side) for side in SIDES[::3]]
    + [(4000, 64), (4000, 90), (6000, 200), (10000, 16), (2000, 1)]
    + [(64, 4000), (90, 4000), (16, 10000), (1, 2000)]
)

SWEEP = """
import sys, django
django.setup()
import numpy as np
from demos.ml.detection.detectors import get_detector

detector = get_detector(sys.argv[1])
rng = np.random.default_rng(0)
for item in sys.argv[2:]:
    width, height = (int(v) for v in item.split("x"))
    print(item, flush=True)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for box in detector.detect(rgb, 0.05):
        assert 0 <= box.x1 <= box.x2 <= width and 0 <= box.y1 <= box.y2 <= height
print("done", flush=True)
"""


def available_detectors() -> list[str]:
    return [state.spec.key for state in detector_choices() if is_available(state)]


def test_the_sweep_covers_the_crashing_band() -> None:
    assert (300, 80) in SHAPES
    assert {h for w, h in SHAPES if w == 300} >= set(range(1, 161))


def test_every_available_detector_survives_every_photo_shape(models_ready) -> None:
    keys = available_detectors()
    assert "opencv-hog" in keys
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PORTAL_MODELS_DIR": str(models_ready),
    }
    sizes = [f"{w}x{h}" for w, h in SHAPES]
    for key in keys:
        result = subprocess.run(
            [sys.executable, "-c", SWEEP, key, *sizes],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        lines = result.stdout.split()
        last = lines[-1] if lines else "before the first size"
        assert result.returncode == 0, (
            f"{key} died (exit {result.returncode}) at {last}: {result.stderr[-800:]}"
        )
        assert last == "done"
