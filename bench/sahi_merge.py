"""The ``sahi`` library's merge run on cached passes, to compare it with ours.

A measurement helper, run with a throw-away interpreter that has ``sahi`` (MIT)
installed — the portal does not depend on it (it pulls in matplotlib, shapely and
the non-headless OpenCV wheel):

    python -m venv /tmp/sahivenv
    /tmp/sahivenv/bin/pip install numpy shapely tqdm pillow pyyaml \
        opencv-python-headless requests
    /tmp/sahivenv/bin/pip install --no-deps sahi==0.12.8
    /tmp/sahivenv/bin/python bench/sahi_merge.py

For each dev set it takes the whole-photo PicoDet-S pass and the 2x2 tiled pass
from ``var/detcache/`` and merges them the way ``sahi.predict.get_sliced_prediction``
does by default (standard prediction + slices, ``GREEDYNMM`` matched by IoS 0.5,
tile-edge boxes kept), writing a cached pass named ``sahi:pico416+2x2`` that
``choose_default.py`` scores like any other. Boxes under ``CONFIDENCE`` are left
out first, as sahi's detection models do: merging every box down to 0.05 by IoS
chains neighbouring people into one union box.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sahi.postprocess.combine import GreedyNMMPostprocess
from sahi.prediction import ObjectPrediction

CONFIDENCE = 0.25
CACHE = Path(__file__).resolve().parent.parent / "var" / "detcache"


def split(data) -> tuple[list, list]:
    cuts = np.cumsum(data["counts"])[:-1]
    return np.split(data["boxes"], cuts), np.split(data["scores"], cuts)


def main() -> None:
    merge = GreedyNMMPostprocess(
        match_threshold=0.5, match_metric="IOS", class_agnostic=True
    )
    for folder in sorted(CACHE.iterdir()):
        whole = np.load(folder / "pico416@416.npz")
        tiles = np.load(folder / "pico416@416_2x2.npz")
        wb, ws = split(whole)
        tb, ts = split(tiles)
        rows = []
        for i in range(len(wb)):
            width, height = (int(v) for v in whole["size"][i])
            predictions = [
                ObjectPrediction(
                    bbox=[float(v) for v in box],
                    category_id=0,
                    category_name="person",
                    score=float(score),
                    full_shape=[height, width],
                )
                for box, score in zip(
                    np.concatenate([wb[i], tb[i]]),
                    np.concatenate([ws[i], ts[i]]),
                    strict=True,
                )
                if box[2] > box[0] and box[3] > box[1] and score >= CONFIDENCE
            ]
            merged = merge(predictions)
            rows.append(
                (
                    np.array(
                        [p.bbox.to_xyxy() for p in merged], dtype=np.float64
                    ).reshape(-1, 4),
                    np.array([p.score.value for p in merged], dtype=np.float64),
                )
            )
        np.savez_compressed(
            folder / "sahi:pico416+2x2.npz",
            names=whole["names"],
            counts=np.array([len(r[1]) for r in rows]),
            boxes=np.concatenate([r[0] for r in rows]).reshape(-1, 4),
            scores=np.concatenate([r[1] for r in rows]),
            tile=np.zeros(sum(len(r[1]) for r in rows), dtype=np.int64),
            tiles=np.zeros((len(rows), 1, 4), dtype=np.int64),
            ms=whole["ms"] + tiles["ms"],
            size=whole["size"],
        )
        print(folder.name, len(rows), "photos merged")


if __name__ == "__main__":
    main()
