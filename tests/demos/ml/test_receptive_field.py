"""Receptive fields from kernel/stride/padding, checked against autograd: the input
pixels whose gradient is non-zero are exactly the box the arithmetic gives."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from demos.ml import imagenet
from demos.ml.receptive_field import (
    SAME,
    Box,
    Window,
    field_size,
    receptive_field,
    sizes,
    spatial_layers,
)


def gradient_box(stack: nn.Module, size: tuple[int, int], y: int, x: int) -> Box:
    """Brute force: the bounding box of input pixels that move output (y, x).

    Positive weights, positive inputs kept under ReLU6's ceiling, average (not max)
    pooling, in float64: every pixel inside the field gets a gradient > 0.
    """
    stack = stack.double()
    with torch.no_grad():
        for name, parameter in stack.named_parameters():
            if parameter.dim() > 1:  # a kernel: the mean of its window
                parameter.fill_(1.0 / parameter[0].numel())
            else:  # batch norm's scale 1, every shift 0
                parameter.fill_(0.0 if name.endswith("bias") else 1.0)
    image = torch.rand(1, stack_in_channels(stack), *size, dtype=torch.float64)
    image = (image * 0.5 + 0.1).requires_grad_(True)
    stack(image)[0, 0, y, x].backward()
    rows, columns = torch.nonzero(image.grad[0].abs().sum(0) > 0, as_tuple=True)
    return Box(
        int(rows.min()), int(columns.min()), int(rows.max()) + 1, int(columns.max()) + 1
    )


def stack_in_channels(stack: nn.Module) -> int:
    first = next(m for m in stack.modules() if isinstance(m, nn.Conv2d))
    return first.in_channels


SMALL_STACKS = {
    "conv-pool-conv": lambda: nn.Sequential(
        nn.Conv2d(2, 3, 3, 1, 1),
        nn.AvgPool2d(3, 2, 1),
        nn.Conv2d(3, 3, 5, 2, 2),
        nn.Conv2d(3, 2, 1),
    ),
    "lenet-like": lambda: nn.Sequential(
        nn.Conv2d(1, 2, 5), nn.AvgPool2d(2), nn.Conv2d(2, 2, 5), nn.AvgPool2d(2)
    ),
    "tf-same-stride-2": lambda: nn.Sequential(
        imagenet.SameConv2d(3, 4, 3, 2),
        imagenet.SameConv2d(4, 4, 5, 1, groups=4),
        imagenet.SameConv2d(4, 2, 3, 2),
    ),
}


@pytest.mark.parametrize("name", SMALL_STACKS)
@pytest.mark.parametrize("size", [(20, 20), (17, 23)])
def test_every_output_pixel_sees_exactly_the_arithmetic_box(
    name: str, size: tuple[int, int]
) -> None:
    stack = SMALL_STACKS[name]()
    layers = spatial_layers(stack)
    out_h, out_w = sizes(layers, size)[-1]
    assert stack(torch.zeros(1, stack_in_channels(stack), *size)).shape[-2:] == (
        out_h,
        out_w,
    )
    for y in range(out_h):
        for x in range(out_w):
            assert receptive_field(layers, y, x, size) == gradient_box(
                SMALL_STACKS[name](), size, y, x
            ), (y, x)


def test_the_worked_example_of_the_docstring() -> None:
    layers = [Window(3, 1, 1), Window(3, 2, 1)]
    assert receptive_field(layers, 1, 1, (8, 8)) == Box(0, 0, 5, 5)
    assert field_size(layers) == 5


def test_efficientnet_stages_match_autograd_on_the_real_architecture() -> None:
    model = imagenet.EfficientNetLite0().eval()
    stage = 3  # stem + three stages: stride 8, a 5x5 stage, residual additions
    stack = model.features[: stage + 1]
    layers = spatial_layers(stack)
    assert layers[0] == Window(3, 2, SAME)
    assert field_size(layers) == 67
    size = (64, 64)
    for y, x in [(0, 0), (3, 4), (7, 7)]:
        box = receptive_field(layers, y, x, size)
        assert box == gradient_box(model.features[: stage + 1], size, y, x)


def test_max_pooling_counts_as_a_window() -> None:
    stack = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.ReLU())
    assert spatial_layers(stack) == [Window(3, 1, 0), Window(2, 2, 0)]
    assert receptive_field(spatial_layers(stack), 2, 0, (10, 10)) == Box(4, 0, 8, 4)


def test_a_pixel_outside_the_map_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        receptive_field([Window(3, 2, 1)], 5, 0, (8, 8))
