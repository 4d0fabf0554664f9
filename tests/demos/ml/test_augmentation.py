"""demos/architectures/augmentation.py: seeded, labelled grids of a real photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.transforms import v2

from demos.common.imaging import ImageLimits, decode_image
from demos.ml.augmentation import (
    MAX_TILES,
    AppliedOp,
    InvalidAugmentationRequest,
    TilePlan,
    apply_plan,
    augmentation_grid,
    augmentation_plan,
    draw_digit,
    grid_size,
    square_base,
)
from portal.lib.errors import BadInput

LIMITS = ImageLimits(
    max_bytes=15 * 1024 * 1024, max_pixels=40_000_000, max_side=10_000, min_side=16
)


@pytest.fixture(scope="session")
def cat(samples_dir: Path) -> np.ndarray:
    """The 451x300 chelsea photo as RGB."""
    data = (samples_dir / "nobody" / "chelsea.png").read_bytes()
    return decode_image(data, LIMITS).rgb


@pytest.fixture(scope="session")
def cat_grid(cat: np.ndarray):
    return augmentation_grid(cat, count=6, seed=7, tile_size=96, columns=4)


def test_grid_has_one_tile_per_requested_image(cat_grid) -> None:
    assert len(cat_grid.tiles) == 6
    assert [tile.index for tile in cat_grid.tiles] == [1, 2, 3, 4, 5, 6]
    assert (cat_grid.columns, cat_grid.rows) == (4, 2)


def test_grid_and_tiles_have_the_documented_sizes(cat_grid) -> None:
    # 4 columns and 2 rows of 96 px tiles with 4 px gaps around them.
    assert cat_grid.image.shape == (2 * 100 + 4, 4 * 100 + 4, 3)
    assert grid_size(6, columns=4, tile_size=96) == (404, 204)
    assert all(tile.image.shape == (96, 96, 3) for tile in cat_grid.tiles)
    assert cat_grid.image.dtype == np.uint8


def test_grid_places_each_tile_at_its_box(cat_grid) -> None:
    tile = cat_grid.tiles[5]
    x1, y1, x2, y2 = cat_grid.tile_box(tile.index)
    placed = cat_grid.image[y1:y2, x1:x2]
    # The number label covers the top-left corner; the rest is the tile itself.
    assert np.array_equal(placed[40:, 40:], tile.image[40:, 40:])


def test_same_seed_gives_the_same_grid(cat: np.ndarray, cat_grid) -> None:
    again = augmentation_grid(cat, count=6, seed=7, tile_size=96, columns=4)
    assert np.array_equal(again.image, cat_grid.image)
    assert [t.ops for t in again.tiles] == [t.ops for t in cat_grid.tiles]


def test_another_seed_gives_another_grid(cat: np.ndarray, cat_grid) -> None:
    other = augmentation_grid(cat, count=6, seed=8, tile_size=96, columns=4)
    assert not np.array_equal(other.image, cat_grid.image)


def test_a_tile_does_not_depend_on_how_many_tiles_were_asked_for(
    cat: np.ndarray, cat_grid
) -> None:
    fewer = augmentation_grid(cat, count=2, seed=7, tile_size=96)
    assert np.array_equal(fewer.tiles[1].image, cat_grid.tiles[1].image)


def test_labels_can_be_known_without_the_image(cat_grid) -> None:
    plans = augmentation_plan(count=6, seed=7, tile_size=96)
    assert plans == tuple(tile.plan for tile in cat_grid.tiles)


def test_every_tile_gets_at_least_one_labelled_augmentation() -> None:
    plans = augmentation_plan(count=MAX_TILES, seed=123, tile_size=160)
    assert all(plan.ops for plan in plans)
    keys = {op.key for plan in plans for op in plan.ops}
    assert {"resized-crop", "hflip", "color-jitter"} <= keys


def test_flip_matches_torchvisions_random_horizontal_flip(cat: np.ndarray) -> None:
    base = square_base(cat, 96)
    flipped = apply_plan(base, TilePlan(1, (AppliedOp("hflip"),)))
    tensor = torch.from_numpy(base).permute(2, 0, 1)
    expected = v2.RandomHorizontalFlip(p=1.0)(tensor).permute(1, 2, 0).numpy()
    assert np.array_equal(flipped, expected)


def test_rotation_matches_torchvisions_random_rotation(cat: np.ndarray) -> None:
    base = square_base(cat, 96)
    rotated = apply_plan(base, TilePlan(1, (AppliedOp("rotate", "+12°", (12.0,)),)))
    transform = v2.RandomRotation(
        degrees=(12.0, 12.0), interpolation=v2.InterpolationMode.BILINEAR
    )
    expected = transform(torch.from_numpy(base).permute(2, 0, 1))
    # Was exact while apply_plan ran torchvision; the numpy rotation may put a rare
    # sample one grey level off (float32 coordinates in another order).
    diff = np.abs(rotated.astype(int) - expected.permute(1, 2, 0).numpy().astype(int))
    assert diff.max() <= 1 and np.mean(diff > 0) <= 0.001


def test_flips_and_large_rotations_are_marked_wrong_for_digits() -> None:
    assert AppliedOp("hflip").wrong_for_digits
    assert AppliedOp("vflip").wrong_for_digits
    assert AppliedOp("rotate-large", "+40°", (40.0,)).wrong_for_digits
    assert not AppliedOp("rotate", "+10°", (10.0,)).wrong_for_digits
    assert not AppliedOp("color-jitter").wrong_for_digits


def test_a_six_turned_upside_down_is_a_mirrored_nine_shape() -> None:
    six = draw_digit("6", size=64)
    upside_down = apply_plan(six, TilePlan(1, (AppliedOp("rotate", "", (180.0,)),)))
    # A 180° turn is both flips: the loop of the 6 moves from bottom to top.
    ink = upside_down[..., 0] > 128
    assert ink[:32].sum() > ink[32:].sum()
    original_ink = six[..., 0] > 128
    assert original_ink[32:].sum() > original_ink[:32].sum()


def test_digit_sample_is_white_on_black() -> None:
    six = draw_digit("6", size=80)
    assert six.shape == (80, 80, 3)
    assert six[0, 0].tolist() == [0, 0, 0]
    assert six.max() == 255


@pytest.mark.parametrize(("count", "tile_size"), [(0, 96), (MAX_TILES + 1, 96), (4, 8)])
def test_refuses_out_of_range_requests(
    cat: np.ndarray, count: int, tile_size: int
) -> None:
    with pytest.raises(InvalidAugmentationRequest) as caught:
        augmentation_grid(cat, count=count, tile_size=tile_size)
    assert isinstance(caught.value, BadInput)


def test_refuses_a_non_digit_sample() -> None:
    with pytest.raises(InvalidAugmentationRequest):
        draw_digit("x")
