"""The widget arithmetic agrees with OpenCV, PyTorch and torchvision."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

from demos.ml import playgrounds
from demos.ml.playgrounds import (
    KERNELS,
    InvalidKernel,
    InvalidLayerShape,
    apply_kernel,
    candidate_boxes,
    conv_cost,
    conv_output_size,
    correlate,
    edge_feature_map,
    iou,
    nms,
    nms_steps,
    parse_kernel,
    pool,
)


@pytest.fixture(scope="module")
def photo(samples_dir: Path) -> np.ndarray:
    return np.asarray(Image.open(samples_dir / "nobody" / "chelsea.png").convert("RGB"))


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_kernel_matches_cv2_filter2d_on_a_colour_photo(
    photo: np.ndarray, name: str
) -> None:
    expected = cv2.filter2D(photo, -1, KERNELS[name])
    result = apply_kernel(photo, KERNELS[name])
    assert result.shape == photo.shape
    assert result.dtype == np.uint8
    assert np.array_equal(result, expected)


def test_raw_response_matches_cv2_float_output_on_a_grey_photo(
    photo: np.ndarray,
) -> None:
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    for name in ("sobel-x", "laplacian", "emboss", "gaussian-5"):
        expected = cv2.filter2D(gray, cv2.CV_32F, KERNELS[name])
        assert np.allclose(correlate(gray, KERNELS[name]), expected, atol=1e-3)


def test_typed_kernel_matches_torch_conv2d_away_from_the_border(
    photo: np.ndarray,
) -> None:
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    kernel = parse_kernel(
        "1 2 0 -2 -1\n1 2 0 -2 -1\n1 2 0 -2 -1\n1 2 0 -2 -1\n1 2 0 -2 -1"
    )
    expected = F.conv2d(
        torch.from_numpy(gray).float()[None, None], torch.from_numpy(kernel)[None, None]
    )[0, 0].numpy()
    assert np.allclose(correlate(gray, kernel)[2:-2, 2:-2], expected, atol=1e-3)


def test_magnitude_mode_shows_negative_edges_that_clip_mode_hides(
    photo: np.ndarray,
) -> None:
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    clipped = apply_kernel(gray, KERNELS["sobel-x"], mode="clip")
    magnitude = apply_kernel(gray, KERNELS["sobel-x"], mode="abs")
    assert (magnitude >= clipped).all()
    assert (magnitude > clipped).mean() > 0.1


def test_parse_kernel_reads_fractions_commas_and_semicolons() -> None:
    kernel = parse_kernel("1/9, 1/9, 1/9; 1/9 1/9 1/9\n1/9 1/9 1/9")
    assert np.allclose(kernel, KERNELS["box-blur"])


@pytest.mark.parametrize(
    "text", ["", "1 2; 3 4", "1 2 3; 4 5", "a b c; 1 2 3; 1 2 3", "1/0", "1 " * 81]
)
def test_parse_kernel_rejects_what_is_not_an_odd_square_of_numbers(text: str) -> None:
    with pytest.raises(InvalidKernel):
        parse_kernel(text)


# (n, k, stride, padding, dilation)
CONV_CASES = [
    (32, 3, 1, 0, 1),
    (32, 3, 1, 1, 1),
    (32, 5, 1, 2, 1),
    (28, 5, 1, 0, 1),
    (224, 7, 2, 3, 1),
    (224, 11, 4, 2, 1),
    (227, 11, 4, 0, 1),
    (56, 1, 1, 0, 1),
    (56, 1, 2, 0, 1),
    (7, 3, 2, 1, 1),
    (8, 3, 2, 1, 1),
    (13, 3, 3, 0, 1),
    (32, 3, 1, 2, 2),
    (32, 3, 1, 0, 2),
    (33, 3, 2, 4, 4),
    (10, 5, 3, 1, 2),
    (5, 5, 1, 0, 1),
    (1, 3, 1, 1, 1),
]


@pytest.mark.parametrize(("n", "k", "s", "p", "d"), CONV_CASES)
def test_output_size_and_cost_match_a_real_conv2d(
    n: int, k: int, s: int, p: int, d: int
) -> None:
    layer = torch.nn.Conv2d(3, 4, k, stride=s, padding=p, dilation=d)
    with torch.no_grad():
        out = layer(torch.zeros(1, 3, n, n))
    size = conv_output_size(n, k, s, p, d)
    assert out.shape[-2:] == (size, size)
    cost = conv_cost(3, 4, k, size, size)
    assert cost.params == sum(t.numel() for t in layer.parameters())
    # FlopCounterMode counts 2 FLOPs per multiply-add of the convolution.
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        layer(torch.zeros(1, 3, n, n))
    assert cost.flops == counter.get_total_flops()


def test_bias_free_layer_has_only_weights() -> None:
    layer = torch.nn.Conv2d(64, 128, 3, bias=False)
    cost = conv_cost(64, 128, 3, 10, 10, bias=False)
    assert cost.params == sum(t.numel() for t in layer.parameters()) == 73728


@pytest.mark.parametrize(("n", "k", "s", "p", "d"), [(3, 5, 1, 0, 1), (4, 3, 1, 0, 3)])
def test_output_size_refuses_a_kernel_larger_than_the_padded_input(
    n: int, k: int, s: int, p: int, d: int
) -> None:
    with pytest.raises(InvalidLayerShape):
        conv_output_size(n, k, s, p, d)
    with pytest.raises(RuntimeError):
        torch.nn.Conv2d(1, 1, k, stride=s, padding=p, dilation=d)(
            torch.zeros(1, 1, n, n)
        )


@pytest.mark.parametrize(
    ("size", "stride"), [(2, None), (2, 2), (3, 2), (3, 3), (2, 1), (4, 4)]
)
def test_pooling_matches_torch_max_and_avg_pool(
    photo: np.ndarray, size: int, stride: int | None
) -> None:
    fmap = edge_feature_map(photo, side=50)
    tensor = torch.from_numpy(fmap).float()[None, None]
    expected_max = F.max_pool2d(tensor, size, stride)[0, 0].numpy()
    expected_avg = F.avg_pool2d(tensor, size, stride)[0, 0].numpy()
    assert np.array_equal(pool(fmap, "max", size, stride), expected_max)
    assert np.allclose(pool(fmap, "avg", size, stride), expected_avg, atol=1e-4)


def test_edge_feature_map_is_a_relu_of_sobel_on_the_shrunk_photo(
    photo: np.ndarray,
) -> None:
    fmap = edge_feature_map(photo, side=96)
    assert fmap.dtype == np.uint8
    assert max(fmap.shape) == 96
    assert fmap.shape == (64, 96)  # the cat photo is 451 x 300
    assert fmap.max() == 255
    assert (fmap == 0).mean() > 0.2  # ReLU zeroed the negative half


def random_boxes(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0, 200, size=(count, 2))
    sizes = rng.uniform(20, 120, size=(count, 2))
    boxes = np.concatenate([corners, corners + sizes], axis=1)
    return boxes, rng.permutation(count).astype(float) / count + 0.01


def test_iou_matches_torchvision_box_iou() -> None:
    boxes, _scores = random_boxes(30, seed=1)
    expected = torchvision.ops.box_iou(torch.tensor(boxes), torch.tensor(boxes))
    ours = np.array([[iou(a, b) for b in boxes] for a in boxes])
    assert np.allclose(ours, expected.numpy(), atol=1e-9)
    assert iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.7])
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_nms_keeps_the_same_boxes_as_torchvision(threshold: float, seed: int) -> None:
    boxes, scores = random_boxes(40, seed=seed)
    expected = torchvision.ops.nms(
        torch.tensor(boxes), torch.tensor(scores), threshold
    ).tolist()
    assert nms(boxes, scores, threshold) == expected


def test_nms_steps_explain_each_suppression() -> None:
    boxes = [(0, 0, 10, 10), (1, 0, 11, 10), (50, 50, 60, 60), (0, 1, 10, 11)]
    scores = [0.9, 0.8, 0.7, 0.6]
    steps = nms_steps(boxes, scores, 0.5)
    assert [step.keep for step in steps] == [0, 2]
    first = steps[0]
    assert first.suppressed == (1, 3)
    assert first.remaining == (2,)
    assert dict(first.compared)[2] == 0.0
    assert steps[1].compared == () and steps[1].remaining == ()


def test_candidate_boxes_map_every_view_back_to_the_original_photo(
    photo: np.ndarray,
) -> None:
    height, width = photo.shape[:2]

    def detect_brightest_quarter(view: np.ndarray) -> list:
        # A deterministic "detector": the box around the view's centre.
        h, w = view.shape[:2]
        return [((w * 0.25, h * 0.25, w * 0.75, h * 0.75), 0.9)]

    found = candidate_boxes(photo, detect_brightest_quarter)
    assert [c.view for c in found] == [
        "original",
        "mirrored",
        "zoom-top-left",
        "zoom-bottom-right",
    ]
    original, mirrored = found[0].box, found[1].box
    assert original == pytest.approx(mirrored, abs=0.1)
    top_left = found[2].box
    assert top_left[2] == pytest.approx(width * 0.85 * 0.75, abs=1)
    assert all(0 <= c.box[0] < c.box[2] <= width for c in found)
    assert all(0 <= c.box[1] < c.box[3] <= height for c in found)


def test_module_docstrings_give_worked_examples() -> None:
    import doctest

    assert doctest.testmod(playgrounds).failed == 0
