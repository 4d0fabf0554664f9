"""demos/ml/feature_maps.py: the activation path, grids of C tiles, hooks, scaling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from demos.ml.digits import DigitsCNN
from demos.ml.feature_maps import (
    GAP_COLOUR,
    channel_stats,
    colorize,
    extract_feature_maps,
    feature_map_grid,
    filter_grid,
    forward_hooks,
    grid_layout,
    histogram,
    normalise_channels,
    signed_image,
    strongest_channels,
    tile_scale,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def digits_cnn() -> DigitsCNN:
    torch.manual_seed(0)
    return DigitsCNN().eval()


def test_feature_extraction_skips_the_classifier_so_any_size_works(
    digits_cnn: DigitsCNN,
) -> None:
    maps = extract_feature_maps(digits_cnn, torch.rand(1, 1, 96, 128), ["conv1"])
    assert tuple(maps["conv1"].shape) == (1, 6, 96, 128)


def test_hooks_capture_outputs_and_are_removed_afterwards(
    digits_cnn: DigitsCNN,
) -> None:
    with forward_hooks(digits_cnn, ["conv1", "pool2"]) as maps:
        digits_cnn(torch.rand(1, 1, 32, 32))
    assert tuple(maps["conv1"].shape) == (1, 6, 32, 32)
    assert tuple(maps["pool2"].shape) == (1, 16, 6, 6)
    assert not digits_cnn.conv1._forward_hooks
    assert not digits_cnn.pool2._forward_hooks


def test_hooks_are_removed_even_when_the_forward_pass_fails(
    digits_cnn: DigitsCNN,
) -> None:
    with pytest.raises(RuntimeError), forward_hooks(digits_cnn, ["conv1"]):
        digits_cnn(torch.rand(1, 3, 32, 32))  # wrong channel count
    assert not digits_cnn.conv1._forward_hooks


def test_hooks_refuse_unknown_layer_names(digits_cnn: DigitsCNN) -> None:
    with pytest.raises(KeyError, match="conv9"), forward_hooks(digits_cnn, ["conv9"]):
        pass


def test_hooks_on_every_module_report_each_call_to_the_callback(
    digits_cnn: DigitsCNN,
) -> None:
    calls: list[str] = []
    with forward_hooks(
        digits_cnn, on_output=lambda name, module, output: calls.append(name)
    ) as maps:
        digits_cnn(torch.rand(1, 1, 32, 32))
    assert calls[-1] == "" and "fc3" in calls  # the root module reports last
    assert tuple(maps[""].shape) == (1, 10)
    assert all(not m._forward_hooks for m in digits_cnn.modules())


def test_each_channel_is_normalised_to_the_full_0_255_range() -> None:
    maps = np.stack(
        [
            np.linspace(-3, 1, 20).reshape(4, 5),
            np.linspace(100, 101, 20).reshape(4, 5),
            np.zeros((4, 5)),  # a dead channel
        ]
    )
    grey = normalise_channels(maps)
    assert grey.dtype == np.uint8
    assert (grey[:2].min(axis=(1, 2)) == 0).all()
    assert (grey[:2].max(axis=(1, 2)) == 255).all()
    assert (grey[2] == 0).all()


@pytest.mark.parametrize(
    ("count", "rows", "columns"),
    [(1, 1, 1), (6, 2, 3), (16, 4, 4), (64, 8, 8), (80, 9, 9), (512, 23, 23)],
)
def test_grid_layout_is_square_ish(count: int, rows: int, columns: int) -> None:
    assert grid_layout(count) == (rows, columns)


@pytest.mark.parametrize(("channels", "size"), [(1, 52), (6, 32), (16, 12), (80, 13)])
def test_grid_has_one_tile_per_channel_with_the_documented_size(
    channels: int, size: int
) -> None:
    rng = np.random.default_rng(channels)
    maps = rng.normal(size=(channels, size, size)).astype(np.float32)
    grid = feature_map_grid(maps, gap=1)
    rows, columns = grid_layout(channels)
    tile = size * tile_scale(size, size)
    assert grid.shape == (rows * tile + rows - 1, columns * tile + columns - 1, 3)
    filled = 0
    for row in range(rows):
        for col in range(columns):
            cell = grid[
                row * (tile + 1) : row * (tile + 1) + tile,
                col * (tile + 1) : col * (tile + 1) + tile,
            ]
            filled += not (cell == GAP_COLOUR).all()
    assert filled == channels


def test_strongest_first_puts_the_highest_mean_channel_in_the_first_tile() -> None:
    maps = np.zeros((4, 8, 8), dtype=np.float32)
    for channel, level in enumerate([1.0, 5.0, 3.0, 0.5]):
        maps[channel] = level
        maps[channel, 0, 0] = 0  # a shape, so the tile is not flat
    assert strongest_channels(maps) == [1, 2, 0, 3]
    grid = feature_map_grid(maps, strongest_first=True, scale=1, gap=0)
    assert (grid[:8, :8] == feature_map_grid(maps[1:2], scale=1)).all()


def test_channel_stats_report_mean_max_and_min() -> None:
    maps = torch.tensor([[[1.0, 3.0], [5.0, 7.0]], [[-2.0, 0.0], [0.0, 2.0]]])
    stats = channel_stats(maps[None])
    assert [s.channel for s in stats] == [0, 1]
    assert stats[0].mean == pytest.approx(4.0)
    assert stats[0].max == 7.0
    assert stats[1].min == -2.0


def test_colour_maps_give_rgb_images() -> None:
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    assert colorize(grey).shape == (16, 16, 3)
    assert (colorize(grey, "gray")[..., 0] == grey).all()
    with pytest.raises(ValueError):
        colorize(grey, "rainbow")


def test_filter_grid_shows_every_rgb_filter_as_a_tile() -> None:
    weight = torch.randn(64, 3, 7, 7)
    grid = filter_grid(weight, scale=4, gap=1)
    assert grid.shape == (8 * 28 + 7, 8 * 28 + 7, 3)
    grey = filter_grid(torch.randn(6, 1, 5, 5), scale=2, gap=1)
    assert grey.shape == (2 * 10 + 1, 3 * 10 + 2, 3)
    with pytest.raises(ValueError):
        filter_grid(torch.randn(16, 12, 3, 3))


def test_signed_image_shows_zero_white_positive_red_negative_blue() -> None:
    image = signed_image(np.array([[0.0, 2.0, -2.0]]))
    assert tuple(image[0, 0]) == (255, 255, 255)
    red, green, blue = image[0, 1]
    assert red > blue and red > green
    red, green, blue = image[0, 2]
    assert blue > red


def test_histogram_counts_every_value() -> None:
    result = histogram(np.arange(100), bins=10)
    assert len(result["edges"]) == 11
    assert sum(result["counts"]) == 100
