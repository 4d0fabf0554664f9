"""demos/ml/detection stages (boxes, preprocess, decoders, hog, fusion, snippets):
each alone, then the three detectors on real photos.

The ONNX detectors are built straight from ``shared/weights`` (the module is pure);
``tests/models_store`` covers building them through the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from demos.common.imaging import ImageLimits, crop_box, decode_image
from demos.ml.detection.boxes import (
    PersonBox,
    box_iou,
    clip_boxes,
    mirror_boxes,
    nms,
    sort_boxes,
    to_person_boxes,
)
from demos.ml.detection.decoders import (
    OnnxFastestDetDetector,
    OnnxYoloxDetector,
    decode_fastestdet,
    decode_picodet,
    decode_yolox,
    yolox_grid,
)
from demos.ml.detection.fusion import FusedPersonDetector, fuse_person_boxes
from demos.ml.detection.hog import (
    HogPersonDetector,
    hog_margin_to_score,
    hog_score_to_margin,
)
from demos.ml.detection.preprocess import (
    PICODET_MEAN,
    PICODET_STD,
    letterbox,
    resize_normalised,
    resize_plain,
)
from demos.ml.detection.snippets import HOW_IT_WORKS, how_it_works
from models_store.registry import REGISTRY
from tests.conftest import SAMPLES_DIR, WEIGHTS_DIR

LIMITS = ImageLimits(
    max_bytes=15 * 1024 * 1024, max_pixels=40_000_000, max_side=10_000, min_side=16
)
FLOOR = 0.05
ANNOTATIONS: dict[str, dict] = json.loads(
    (SAMPLES_DIR / "annotations.json").read_text()
)
PEOPLE = sorted(k for k in ANNOTATIONS if k.startswith("people/"))
NOBODY = sorted(k for k in ANNOTATIONS if k.startswith("nobody/"))
# People the samples' own notes call hard for small detectors; YOLOX-Nano scores
# them below its default threshold. Every other annotated person must be found.
HARD_PEOPLE = {
    ("people/ascent.png", 1),  # small, seen through the stair railing
    ("people/cyclists.jpg", 1),  # rider hidden behind two others
    ("people/composite_2.png", 4),  # smallest pasted person, top left
}


@pytest.fixture(scope="session")
def images() -> dict[str, np.ndarray]:
    return {
        name: decode_image((SAMPLES_DIR / name).read_bytes(), LIMITS).rgb
        for name in ANNOTATIONS
    }


@pytest.fixture(scope="session")
def yolox() -> OnnxYoloxDetector:
    return OnnxYoloxDetector(WEIGHTS_DIR / "yolox-nano" / "yolox_nano.onnx")


@pytest.fixture(scope="session")
def fastestdet() -> OnnxFastestDetDetector:
    return OnnxFastestDetDetector(WEIGHTS_DIR / "fastestdet" / "FastestDet.onnx")


@pytest.fixture(scope="session")
def hog() -> HogPersonDetector:
    return HogPersonDetector()


@pytest.fixture(scope="session")
def yolox_results(yolox, images) -> dict[str, list[PersonBox]]:
    return {name: yolox.detect(rgb, FLOOR) for name, rgb in images.items()}


def above(boxes: list[PersonBox], key: str) -> list[PersonBox]:
    threshold = REGISTRY[key].default_threshold
    return [b for b in boxes if b.score >= threshold]


def assert_well_formed(boxes: list[PersonBox], rgb: np.ndarray) -> None:
    height, width = rgb.shape[:2]
    for b in boxes:
        assert 0 <= b.x1 < b.x2 <= width and 0 <= b.y1 < b.y2 <= height
        assert FLOOR <= b.score <= 1
        assert all(isinstance(v, int) for v in b.box)
    assert boxes == sort_boxes(boxes)


# ------------------------------------------------------------------ stages


def test_nms_keeps_the_best_of_overlapping_boxes_and_distant_ones() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], float)
    scores = np.array([0.6, 0.9, 0.3])
    assert nms(boxes, scores, 0.45).tolist() == [1, 2]


def test_nms_keeps_boxes_that_overlap_less_than_the_threshold() -> None:
    boxes = np.array([[0, 0, 10, 10], [6, 0, 16, 10]], float)  # IoU 4/16 = 0.25
    assert sorted(nms(boxes, np.array([0.5, 0.4]), 0.45).tolist()) == [0, 1]
    assert nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []


def test_box_iou_of_identical_and_disjoint_boxes() -> None:
    box = np.array([0, 0, 10, 10], float)
    others = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 0, 15, 10]], float)
    assert np.allclose(box_iou(box, others), [1.0, 0.0, 1 / 3])


def test_clip_boxes_keeps_them_inside_the_image() -> None:
    clipped = clip_boxes(np.array([[-5, -3, 120, 90]], float), 100, 80)
    assert clipped.tolist() == [[0, 0, 100, 80]]


def test_to_person_boxes_thresholds_rounds_drops_empty_and_sorts() -> None:
    boxes = np.array(
        [
            [50.4, 10, 80, 60],  # kept
            [5, 20, 40.6, 70],  # kept, leftmost
            [5, 5, 9, 9],  # below the floor
            [-20, 0, -1, 30],  # empty once clipped
            [51, 11, 80, 61],  # overlaps the first, lower score → NMS drops it
        ]
    )
    scores = np.array([0.8, 0.6, 0.01, 0.9, 0.7])
    result = to_person_boxes(boxes, scores, 100, 100, floor_score=0.05)
    assert [b.box for b in result] == [(5, 20, 41, 70), (50, 10, 80, 60)]
    assert [b.score for b in result] == [0.6, 0.8]
    assert (result[0].width, result[0].height) == (36, 50)


def test_sort_boxes_goes_left_to_right_then_top_to_bottom() -> None:
    boxes = [PersonBox(30, 0, 40, 10, 0.9), PersonBox(0, 50, 5, 60, 0.5)]
    boxes.append(PersonBox(0, 10, 5, 20, 0.7))
    assert [b.box[:2] for b in sort_boxes(boxes)] == [(0, 10), (0, 50), (30, 0)]


def test_letterbox_pastes_top_left_on_grey_as_bgr_nchw() -> None:
    rgb = np.zeros((200, 400, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    tensor, ratio = letterbox(rgb, 416)
    assert tensor.shape == (1, 3, 416, 416) and tensor.dtype == np.float32
    assert ratio == pytest.approx(1.04)
    assert tensor[0, :, 0, 0].tolist() == [0, 0, 255]  # BGR, raw 0..255
    assert tensor[0, :, 300, 0].tolist() == [114, 114, 114]  # padding below


def test_resize_plain_stretches_to_bgr_zero_to_one() -> None:
    rgb = np.full((100, 300, 3), (255, 0, 0), np.uint8)
    tensor = resize_plain(rgb, 352)
    assert tensor.shape == (1, 3, 352, 352)
    assert tensor[0, :, 10, 10].tolist() == [0, 0, 1]


def test_decode_yolox_maps_a_cell_to_pixels() -> None:
    grid = yolox_grid(416)
    assert grid.shape == (3549, 3)
    output = np.zeros((3549, 85), np.float32)
    row = 52 * 52 + 26 * 3 + 5  # stride 16, cell (x=5, y=3)
    output[row, :4] = [0.5, 0.5, np.log(4), np.log(8)]
    output[row, 4], output[row, 5] = 0.9, 0.5
    boxes, scores = decode_yolox(output, 416)
    centre_x, centre_y = (5 + 0.5) * 16, (3 + 0.5) * 16
    assert boxes[row].tolist() == pytest.approx(
        [centre_x - 32, centre_y - 64, centre_x + 32, centre_y + 64]
    )
    assert scores[row] == pytest.approx(0.45)
    assert scores.max() == pytest.approx(0.45)


def test_decode_fastestdet_maps_a_cell_to_original_pixels() -> None:
    output = np.zeros((85, 22, 22), np.float32)
    output[:, 10, 4] = 0  # cell gx=4, gy=10: tanh(0)=0, sigmoid(0)=0.5
    output[0, 10, 4], output[5, 10, 4] = 0.64, 0.81
    boxes, scores = decode_fastestdet(output[None], width=440, height=220)
    index = 10 * 22 + 4
    assert boxes[index].tolist() == pytest.approx([80 - 110, 100 - 55, 80 + 110, 155])
    assert scores[index] == pytest.approx(0.64**0.6 * 0.81**0.4)


def picodet_outputs(side: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """All-zero PicoDet outputs: four score and four distribution tensors."""
    cells = [int(np.ceil(side / stride)) ** 2 for stride in (8, 16, 32, 64)]
    scores = [np.zeros((1, n, 80), np.float32) for n in cells]
    dists = [np.zeros((1, n, 32), np.float32) for n in cells]
    return scores, dists


def test_decode_picodet_maps_a_cell_and_its_side_distributions_to_pixels() -> None:
    scores, dists = picodet_outputs(320)
    cell = 2 * 10 + 7  # stride 32 (10x10 cells): row 2, column 7
    scores[2][0, cell, 0] = 0.8  # person
    scores[2][0, cell, 1] = 0.99  # bicycle: not a person, ignored
    sides = dists[2][0, cell].reshape(4, 8)
    sides[0, 2] = 50.0  # left: all mass on bin 2 → 2 strides
    # top: all logits 0 → uniform over 0..7 → expectation 3.5 strides
    sides[2, [1, 3]] = 50.0  # right: half on bin 1, half on bin 3 → 2 strides
    sides[3, 7] = 50.0  # bottom: bin 7 → 7 strides
    boxes, person = decode_picodet(scores, dists, 320, width=640, height=160)
    best = int(np.argmax(person))
    assert person[best] == pytest.approx(0.8)
    # canvas: centre (7.5 * 32, 2.5 * 32) = (240, 80); box (176, -32, 304, 304);
    # photo 640 x 160 is (2, 0.5) times the 320 x 320 canvas.
    assert boxes[best].tolist() == pytest.approx([352, -16, 608, 152], abs=1e-3)


def test_decode_picodet_keeps_only_cells_at_the_floor_and_checks_shapes() -> None:
    scores, dists = picodet_outputs(416)  # stride 64: ceil(416 / 64)² = 49 cells
    assert [s.shape[1] for s in scores] == [2704, 676, 169, 49]
    scores[3][0, 48, 0] = 0.3  # last cell of stride 64: row 6, column 6
    boxes, person = decode_picodet(scores, dists, 416, 416, 416, floor_score=0.1)
    assert person.tolist() == pytest.approx([0.3])
    centre = 6.5 * 64
    assert boxes[0].tolist() == pytest.approx(
        [centre - 3.5 * 64] * 2 + [centre + 3.5 * 64] * 2
    )
    with pytest.raises(ValueError, match="stride 8"):
        decode_picodet(scores, dists, 320, 320, 320)


def test_resize_normalised_is_rgb_minus_mean_over_std_nchw() -> None:
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[..., 0] = 255
    tensor = resize_normalised(rgb, 32)
    assert tensor.shape == (1, 3, 32, 32) and tensor.dtype == np.float32
    expected = (np.array([255, 0, 0]) - PICODET_MEAN) / PICODET_STD
    assert tensor[0, :, 5, 5].tolist() == pytest.approx(expected.tolist())


def test_fusion_merges_overlapping_boxes_of_two_detectors() -> None:
    first = [PersonBox(100, 100, 200, 300, 0.9), PersonBox(400, 100, 460, 220, 0.6)]
    second = [PersonBox(110, 100, 210, 300, 0.7)]  # IoU 0.82 with first[0]
    fused = fuse_person_boxes([first, second], 1000, 500, floor_score=0.05)
    # Corners: score-weighted mean, x1 = (100 * .9 + 110 * .7) / 1.6 = 104.375;
    # score: mean (0.8) x 2 detectors that saw it / 2 detectors.
    assert fused == [
        PersonBox(104, 100, 204, 300, pytest.approx(0.8, abs=1e-4)),
        # only the first detector saw it: 0.6 x 1 / 2
        PersonBox(400, 100, 460, 220, pytest.approx(0.3, abs=1e-4)),
    ]


def test_fusion_drops_boxes_that_fall_below_the_floor_and_handles_nobody() -> None:
    lonely = [PersonBox(10, 10, 50, 90, 0.08)]  # halved to 0.04 < 0.05
    assert fuse_person_boxes([lonely, []], 100, 100, floor_score=0.05) == []
    assert fuse_person_boxes([[], []], 100, 100, floor_score=0.05) == []


def test_mirror_boxes_maps_a_flipped_photo_back() -> None:
    assert mirror_boxes([PersonBox(10, 5, 30, 50, 0.5)], width=100) == [
        PersonBox(70, 5, 90, 50, 0.5)
    ]


class BrightRectangleDetector:
    """A stand-in detector: the box around the white pixels, with a fixed score."""

    def __init__(self, key: str, score: float) -> None:
        self.key, self.score, self.calls = key, score, 0

    def detect(self, rgb: np.ndarray, floor_score: float) -> list[PersonBox]:
        self.calls += 1
        ys, xs = np.nonzero(rgb[..., 0] == 255)
        return [PersonBox(xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, self.score)]


def test_fused_detector_with_flip_runs_each_part_twice_and_agrees_with_itself() -> None:
    rgb = np.zeros((60, 100, 3), np.uint8)
    rgb[10:50, 5:25] = 255  # off-centre, so the mirrored pass sees it elsewhere
    parts = [BrightRectangleDetector("a", 0.9), BrightRectangleDetector("b", 0.7)]
    fused = FusedPersonDetector(parts, "fused", flip=True)
    (box,) = fused.detect(rgb, 0.05)
    assert box.box == (5, 10, 25, 50) and box.score == pytest.approx(0.8, abs=1e-4)
    assert [part.calls for part in parts] == [2, 2]


def test_hog_score_mapping_is_monotonic_and_invertible() -> None:
    margins = np.linspace(-2, 3, 50)
    scores = hog_margin_to_score(margins)
    assert np.all(np.diff(scores) > 0) and scores.min() > 0 and scores.max() < 1
    assert hog_margin_to_score(np.array(0.3)) == pytest.approx(0.5)
    assert hog_score_to_margin(0.05) == pytest.approx(
        float(np.interp(0.05, scores, margins)), abs=1e-2
    )


def test_how_it_works_covers_every_detector_family() -> None:
    families = {s.family for s in REGISTRY.values() if s.task == "person-detection"}
    assert families <= set(HOW_IT_WORKS)
    assert "softmax" in how_it_works("onnx", "picodet")
    assert how_it_works("onnx", "yolox") == HOW_IT_WORKS["onnx"]
    # The fusion panel is the code that runs, not a paraphrase of it.
    assert "weighted_boxes_fusion(" in how_it_works("fusion")
    assert how_it_works("fusion").startswith("def fuse_person_boxes(")
    assert "HOGDescriptor" in HOW_IT_WORKS["opencv"]
    assert "InferenceSession" in HOW_IT_WORKS["onnx"]
    assert "inference_mode" in HOW_IT_WORKS["torchvision"]


# ------------------------------------------------------------------ real photos


def test_yolox_finds_every_annotated_person_at_its_default_threshold(
    yolox_results,
) -> None:
    missed = set()
    for name in PEOPLE:
        boxes = above(yolox_results[name], "yolox-nano")
        candidates = np.array([b.box for b in boxes], float).reshape(-1, 4)
        for index, truth in enumerate(ANNOTATIONS[name]["boxes"]):
            iou = box_iou(np.array(truth, float), candidates).max(initial=0)
            if iou < 0.5:
                missed.add((name, index))
    # Exactly the three people the README calls hard are missed; a change either
    # way (a new miss, or a hard one found) is news and updates HARD_PEOPLE.
    assert missed == HARD_PEOPLE


def test_yolox_boxes_at_default_threshold_are_all_real_people(yolox_results) -> None:
    strays = []
    for name in PEOPLE:
        truth = np.array(ANNOTATIONS[name]["boxes"], float)
        ignore = np.array(ANNOTATIONS[name].get("ignore_boxes", []), float)
        for b in above(yolox_results[name], "yolox-nano"):
            box = np.array(b.box, float)
            if box_iou(box, truth).max() >= 0.3:
                continue
            if len(ignore) and box_iou(box, ignore).max() > 0:
                continue
            strays.append((name, b.box, b.score))
    assert strays == []


@pytest.mark.parametrize("name", NOBODY)
def test_yolox_finds_nobody_where_there_is_nobody(yolox_results, name: str) -> None:
    assert above(yolox_results[name], "yolox-nano") == []


def test_yolox_keeps_weak_boxes_down_to_the_floor(yolox_results) -> None:
    scores = [b.score for boxes in yolox_results.values() for b in boxes]
    assert min(scores) >= FLOOR
    assert any(s < REGISTRY["yolox-nano"].default_threshold for s in scores)


@pytest.mark.parametrize("name", sorted(ANNOTATIONS))
def test_every_detector_returns_well_formed_boxes(
    name: str, images, yolox_results, fastestdet, hog
) -> None:
    rgb = images[name]
    assert_well_formed(yolox_results[name], rgb)
    assert_well_formed(fastestdet.detect(rgb, FLOOR), rgb)
    assert_well_formed(hog.detect(rgb, FLOOR), rgb)


def test_fastestdet_counts_portraits_and_nobody_at_its_default_threshold(
    fastestdet, images
) -> None:
    counts = {
        name: len(above(fastestdet.detect(images[name], FLOOR), "fastestdet"))
        for name in ("people/grace_hopper.jpg", "people/apollo11_crew.jpg", *NOBODY)
    }
    assert counts.pop("people/grace_hopper.jpg") == 1
    assert counts.pop("people/apollo11_crew.jpg") == 3
    assert set(counts.values()) == {0}


def test_hog_detects_upright_people_as_scored_boxes(hog, images) -> None:
    boxes = hog.detect(images["people/composite_2.png"], FLOOR)
    assert boxes
    # HOG's window is 64x128: every box keeps roughly that 1:2 shape.
    assert all(1.6 < b.height / b.width < 2.4 for b in boxes)


def test_hog_returns_nothing_for_an_image_smaller_than_its_window(hog) -> None:
    assert hog.detect(np.zeros((40, 40, 3), np.uint8), FLOOR) == []


@pytest.mark.parametrize(
    "name",
    [
        "cmyk.jpg",
        "gray16.png",
        "rgba.png",
        "palette.png",
        "polyglot.png",
        "animated.gif",
        "exif_rotated.jpg",
    ],
)
def test_converted_uploads_count_one_person(yolox, name: str) -> None:
    rgb = decode_image((SAMPLES_DIR / "bad" / name).read_bytes(), LIMITS).rgb
    assert len(above(yolox.detect(rgb, FLOOR), "yolox-nano")) == 1


def test_exif_rotated_photo_gives_an_upright_crop(yolox) -> None:
    data = (SAMPLES_DIR / "bad" / "exif_rotated.jpg").read_bytes()
    rgb = decode_image(data, LIMITS).rgb
    (person,) = above(yolox.detect(rgb, FLOOR), "yolox-nano")
    crop = crop_box(rgb, person.box)
    assert crop.shape[0] > crop.shape[1]  # taller than wide
    assert crop.shape[0] > 450


def test_each_crop_has_its_box_pixel_size(yolox_results, images) -> None:
    for name in ("people/cyclists.jpg", "people/composite_2.png"):
        for b in yolox_results[name]:
            assert crop_box(images[name], b.box).shape == (b.height, b.width, 3)


def test_detector_reads_model_from_the_given_path_only(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="NO_SUCHFILE|doesn't exist|No such file"):
        OnnxYoloxDetector(tmp_path / "missing.onnx")
