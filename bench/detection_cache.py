"""Raw detector outputs of the dev sets, cached on disk so every sweep is numpy.

A measurement helper, not a test. One *pass* is one detector run one way over a
photo: the whole photo at some input size, or a grid of overlapping tiles. Each
pass's boxes (every box scoring >= 0.05, after the detector's own NMS, in photo
pixels) and its time per photo are stored in
``var/detcache/<devset>/<pass>.npz`` (git-ignored: derived from photos that must
never enter the repo). ``load_pass`` reads them back; a missing pass is computed
(slow: minutes per set on one core).

    .venv/bin/python bench/detection_cache.py [--devset NAME ...] [--passes NAME ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

import numpy as np  # noqa: E402

from demos.common.imaging import ImageLimits, decode_image  # noqa: E402
from demos.ml.detection.tiling import tile_grid  # noqa: E402

SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
CACHE_DIR = REPO_DIR / "var" / "detcache"
DEVSETS = ("coco128-person", "coco-val-people")
LIMITS = ImageLimits(15 * 1024 * 1024, 40_000_000, 10_000, 16)
FLOOR = 0.05
WEIGHTS = {
    "yolox": "yolox-nano/yolox_nano.onnx",
    "pico416": "picodet-s/picodet_s_416_coco.onnx",
    "pico320": "picodet-s/picodet_s_320_coco.onnx",
}


@dataclass(frozen=True)
class PassSpec:
    model: str  # key of WEIGHTS
    size: int  # the network's input side
    grid: tuple[int, int] = (1, 1)  # tile columns x rows; (1, 1) = whole photo
    overlap: float = 0.2


PASSES = {
    "yolox@416": PassSpec("yolox", 416),
    "pico416@416": PassSpec("pico416", 416),
    "pico416@512": PassSpec("pico416", 512),
    "pico416@640": PassSpec("pico416", 640),
    "pico320@320": PassSpec("pico320", 320),
    "pico416@416/2x2": PassSpec("pico416", 416, (2, 2)),
    "pico320@320/2x2": PassSpec("pico320", 320, (2, 2)),
}


def build(spec: PassSpec, weights_dir: Path):
    """The detector of a pass (PicoDet graphs re-shaped for other input sizes)."""
    from demos.ml.detection.decoders import OnnxPicoDetDetector, OnnxYoloxDetector
    from demos.ml.detection.resize import picodet_session

    path = weights_dir / WEIGHTS[spec.model]
    if spec.model == "yolox":
        return OnnxYoloxDetector(path, key="yolox", input_size=spec.size)
    return OnnxPicoDetDetector(
        key=spec.model,
        input_size=spec.size,
        session=picodet_session(path, spec.size, 1),
    )


def run_pass(detector, spec: PassSpec, rgb: np.ndarray) -> tuple[np.ndarray, ...]:
    """(boxes (N, 4), scores (N,), tile index (N,), tiles (T, 4)) of one photo."""
    height, width = rgb.shape[:2]
    tiles = tile_grid(width, height, *spec.grid, spec.overlap)
    boxes, scores, index = [], [], []
    for t, (x1, y1, x2, y2) in enumerate(tiles):
        found = detector.detect(np.ascontiguousarray(rgb[y1:y2, x1:x2]), FLOOR)
        boxes += [(b.x1 + x1, b.y1 + y1, b.x2 + x1, b.y2 + y1) for b in found]
        scores += [b.score for b in found]
        index += [t] * len(found)
    return (
        np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        np.asarray(scores, dtype=np.float64),
        np.asarray(index, dtype=np.int64),
        np.asarray(tiles, dtype=np.int64).reshape(-1, 4),
    )


def photo_names(devset: str) -> list[str]:
    import json

    boxes = json.loads((SHARED_DIR / "devsets" / devset / "boxes.json").read_text())
    return sorted(boxes)


def load_rgb(devset: str, name: str) -> np.ndarray:
    data = (SHARED_DIR / "devsets" / devset / "images" / name).read_bytes()
    return decode_image(data, LIMITS).rgb


def compute(devsets: list[str], passes: list[str], weights_dir: Path) -> None:
    for devset in devsets:
        todo = [
            p for p in passes if not (CACHE_DIR / devset / f"{_file(p)}.npz").exists()
        ]
        if not todo:
            continue
        detectors = {p: build(PASSES[p], weights_dir) for p in todo}
        names = photo_names(devset)
        results: dict[str, list] = {p: [] for p in todo}
        for i, name in enumerate(names):
            rgb = load_rgb(devset, name)
            for p in todo:
                started = time.perf_counter()
                out = run_pass(detectors[p], PASSES[p], rgb)
                ms = (time.perf_counter() - started) * 1000
                results[p].append((*out, ms, rgb.shape[1], rgb.shape[0]))
            if i % 50 == 0:
                print(f"{devset} {i}/{len(names)}", flush=True)
        for p in todo:
            save(devset, p, names, results[p])


def _file(pass_name: str) -> str:
    return pass_name.replace("/", "_")


def save(devset: str, pass_name: str, names: list[str], rows: list) -> None:
    folder = CACHE_DIR / devset
    folder.mkdir(parents=True, exist_ok=True)
    counts = np.array([len(r[1]) for r in rows])
    np.savez_compressed(
        folder / f"{_file(pass_name)}.npz",
        names=np.array(names),
        counts=counts,
        boxes=np.concatenate([r[0] for r in rows]).reshape(-1, 4),
        scores=np.concatenate([r[1] for r in rows]),
        tile=np.concatenate([r[2] for r in rows]),
        tiles=np.stack([r[3] for r in rows]),
        ms=np.array([r[4] for r in rows]),
        size=np.array([(r[5], r[6]) for r in rows]),
    )


@dataclass
class CachedPass:
    boxes: list[np.ndarray]
    scores: list[np.ndarray]
    tile: list[np.ndarray]
    tiles: np.ndarray  # (photos, T, 4)
    ms: np.ndarray
    size: np.ndarray  # (photos, 2) width, height


def load_pass(
    devset: str, pass_name: str, weights_dir: Path | None = None
) -> CachedPass:
    path = CACHE_DIR / devset / f"{_file(pass_name)}.npz"
    if not path.exists():
        compute([devset], [pass_name], weights_dir or SHARED_DIR / "weights")
    data = np.load(path)
    cuts = np.cumsum(data["counts"])[:-1]
    return CachedPass(
        np.split(data["boxes"], cuts),
        np.split(data["scores"], cuts),
        np.split(data["tile"], cuts),
        data["tiles"],
        data["ms"],
        data["size"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", nargs="*", default=list(DEVSETS))
    parser.add_argument("--passes", nargs="*", default=list(PASSES))
    parser.add_argument("--weights-dir", type=Path, default=SHARED_DIR / "weights")
    args = parser.parse_args()
    compute(args.devset, args.passes, args.weights_dir)


if __name__ == "__main__":
    main()
