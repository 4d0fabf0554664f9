"""PicoDet's ONNX graph re-shaped to another input size runs and keeps its people."""

from __future__ import annotations

import numpy as np
import pytest

from demos.common.imaging import ImageLimits, decode_image
from demos.ml.detection.decoders import OnnxPicoDetDetector
from demos.ml.detection.resize import picodet_session, resized_picodet_graph
from tests.conftest import SAMPLES_DIR, WEIGHTS_DIR

PICODET = WEIGHTS_DIR / "picodet-s" / "picodet_s_416_coco.onnx"
pytestmark = pytest.mark.skipif(not PICODET.exists(), reason="shared weights missing")


def test_re_shaped_graph_outputs_the_cells_of_the_new_size() -> None:
    session = picodet_session(PICODET, 640)
    outputs = session.run(None, {"image": np.zeros((1, 3, 640, 640), np.float32)})
    assert [o.shape[1] for o in outputs[:4]] == [80 * 80, 40 * 40, 20 * 20, 10 * 10]


def test_rejects_a_size_the_graph_cannot_take() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        resized_picodet_graph(PICODET, 600)


def test_picodet_at_640_finds_the_people_it_finds_at_416() -> None:
    photo = sorted((SAMPLES_DIR / "people").glob("*.jpg"))[0]
    rgb = decode_image(photo.read_bytes(), ImageLimits(10**8, 10**8, 10**5, 1)).rgb
    at_416 = OnnxPicoDetDetector(PICODET).detect(rgb, 0.5)
    at_640 = OnnxPicoDetDetector(
        key="picodet-s-416", input_size=640, session=picodet_session(PICODET, 640)
    ).detect(rgb, 0.5)
    assert at_416
    assert abs(len(at_640) - len(at_416)) <= max(1, len(at_416) // 3)
