"""Tiled inference helpers: where tiles go, which boxes are tile-edge fragments,
how the passes merge, when tiling is worth it. Pure numpy, no database."""

from __future__ import annotations

import numpy as np
import pytest

from demos.ml.detection.tiling import (
    drop_edge_fragments,
    merge_passes,
    needs_tiles,
    tile_grid,
)


def test_tiles_cover_the_photo_with_the_asked_overlap() -> None:
    tiles = tile_grid(1000, 600, 2, 2, 0.2)
    assert len(tiles) == 4
    assert tiles[0][:2] == (0, 0)
    assert tiles[-1][2:] == (1000, 600)
    (ax1, _, ax2, _), (bx1, _, bx2, _) = tiles[0], tiles[1]
    assert ax2 - bx1 == pytest.approx(0.2 * (ax2 - ax1), abs=2)
    assert bx2 - bx1 == ax2 - ax1


def test_one_by_one_grid_is_the_whole_photo() -> None:
    assert tile_grid(640, 480, 1, 1, 0.2) == [(0, 0, 640, 480)]


def test_rejects_overlap_of_a_whole_tile() -> None:
    with pytest.raises(ValueError, match="overlap"):
        tile_grid(100, 100, 2, 2, 1.0)


def test_box_cut_by_an_inner_tile_edge_is_dropped_but_one_at_the_photo_edge_kept() -> (
    None
):
    tile = (0, 0, 560, 340)  # top-left tile of a 1000 x 600 photo
    boxes = np.array(
        [
            [500, 100, 560, 200],  # touches the inner right edge: half a person
            [0, 100, 50, 200],  # touches the photo's left edge: whole
            [200, 100, 260, 200],  # inside
            [200, 300, 260, 340],  # touches the inner bottom edge
        ],
        dtype=float,
    )
    keep = drop_edge_fragments(boxes, tile, 1000, 600)
    assert keep.tolist() == [False, True, True, False]


def test_a_person_found_by_both_passes_counts_once_with_full_score() -> None:
    whole = (np.array([[10, 10, 50, 110]], float), np.array([0.8]))
    tiles = (np.array([[12, 8, 52, 112]], float), np.array([0.6]))
    merged = merge_passes([whole, tiles])
    assert len(merged.scores) == 1
    assert merged.votes.tolist() == [2]
    assert merged.scores[0] == pytest.approx(0.7)


def test_a_person_only_one_pass_found_keeps_that_pass_share() -> None:
    whole = (np.zeros((0, 4)), np.zeros(0))
    tiles = (np.array([[10, 10, 50, 110]], float), np.array([0.6]))
    merged = merge_passes([whole, tiles])
    assert merged.scores.tolist() == pytest.approx([0.3])
    assert merged.votes.tolist() == [1]


def test_a_child_inside_an_adults_box_stays_a_person() -> None:
    adult = [100, 0, 300, 400]
    child = [150, 250, 220, 390]
    merged = merge_passes([(np.array([adult, child], float), np.array([0.9, 0.8]))])
    assert len(merged.scores) == 2


def test_tiles_are_needed_only_for_big_photos_with_small_people() -> None:
    big = np.array([[100, 100, 400, 900]], float)
    small = np.array([[100, 100, 160, 250]], float)  # 6 x 15 px at a 640 input
    score = np.array([0.9])
    rule = {"input_size": 640, "small_side": 24, "min_score": 0.3}
    assert needs_tiles(small, score, 4000, 3000, min_photo_side=1280, **rule)
    assert not needs_tiles(big, score, 4000, 3000, min_photo_side=1280, **rule)
    assert not needs_tiles(small, score, 1000, 750, min_photo_side=1280, **rule)
    assert not needs_tiles(
        small, np.array([0.1]), 4000, 3000, min_photo_side=1280, **rule
    )
