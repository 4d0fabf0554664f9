"""Person detectors' accuracy on a calibration set, and each one's best threshold.

A measurement, not a test. Runs every detector available offline (HOG, the ONNX files
in ``../shared/weights`` and the fused detectors built from them) on the photos of
every dev set in ``../shared/devsets/`` (``coco128-person``: complete person boxes,
COCO crowd regions as ignore areas; ``coco-val-people``: multi-person scenes) and
prints, per dev set and detector:

- at the registry's ``default_threshold``: the exact-count rate, the count MAE (mean
  of |boxes counted - people| per photo), recall over every person and over people
  of at least 32x32 px, precision; and the median ms per photo (one thread);

- recall at IoU 0.5 of the boxes scoring >= 0.3, over every person and over people
  of at least 32x32 px (COCO's "medium" and "large");
- precision of the boxes scoring >= 0.3;
- AP50 (area under the precision/recall curve at IoU 0.5, every box >= 0.05);
- the threshold that counts the most photos exactly right (a grid of 0.05..0.95 by
  0.01; among equally good thresholds the middle one), the exact-count rate there,
  and the rate at the registry's current ``default_threshold``;
- a held-out estimate of that rate (2-fold: the threshold chosen on the even photos
  is scored on the odd ones and the reverse, mean of the two), because a threshold
  chosen and scored on the same 128 photos flatters every detector a little.

Matching: per photo, boxes in falling score order take the unmatched person box they
overlap most (IoU >= 0.5). A box that matches nobody but lies mostly (>= 50% of its
area) inside a crowd region is ignored: not a false positive and not counted.

Never choose thresholds on ``../shared/samples/``: the tests use those photos.

    .venv/bin/python bench/eval_detectors.py [--devset DIR] [--weights-dir DIR]
        [--detectors yolox-nano,...] [--variants] [--markdown]

(``--devset DIR`` limits the run to one set.)

``--variants`` adds fusion variants (PicoDet-S 320 as the second part, flipped
passes) that the registry does not list, to choose between them. Pure modules only:
no Django, no database.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

import numpy as np  # noqa: E402

from demos.common.imaging import ImageLimits, decode_image  # noqa: E402
from demos.ml.detection.boxes import PersonBox, PersonDetector  # noqa: E402
from demos.ml.detection.decoders import (  # noqa: E402
    OnnxFastestDetDetector,
    OnnxPicoDetDetector,
    OnnxYoloxDetector,
)
from demos.ml.detection.fusion import FusedPersonDetector  # noqa: E402
from demos.ml.detection.hog import HogPersonDetector  # noqa: E402
from models_store.registry import FUSED_DETECTOR, get_spec, specs  # noqa: E402

SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
LIMITS = ImageLimits(15 * 1024 * 1024, 40_000_000, 10_000, 16)
FLOOR = 0.05
IOU = 0.5
RECALL_AT = 0.3
SMALL_AREA = 32 * 32
GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
ONNX_CLASSES = {
    "yolox": OnnxYoloxDetector,
    "fastestdet": OnnxFastestDetDetector,
    "picodet": OnnxPicoDetDetector,
}
ONNX_FILES = {
    "yolox-nano": "yolox-nano/yolox_nano.onnx",
    "fastestdet": "fastestdet/FastestDet.onnx",
    "picodet-s-416": "picodet-s/picodet_s_416_coco.onnx",
    "picodet-s-320": "picodet-s/picodet_s_320_coco.onnx",
}


@dataclass
class Photo:
    name: str
    path: Path
    people: np.ndarray  # (N, 4) xyxy
    crowds: np.ndarray  # (M, 4) xyxy ignore regions

    @property
    def rgb(self) -> np.ndarray:
        """Decoded on use: 450 photos held at once would take 400 MB."""
        return decode_image(self.path.read_bytes(), LIMITS).rgb


def load_devset(folder: Path) -> list[Photo]:
    boxes = json.loads((folder / "boxes.json").read_text())
    crowd_file = folder / "person_crowd_regions.json"
    crowds = json.loads(crowd_file.read_text()) if crowd_file.exists() else {}
    return [
        Photo(
            name,
            folder / "images" / name,
            np.asarray(people, dtype=np.float64).reshape(-1, 4),
            np.asarray(crowds.get(name, []), dtype=np.float64).reshape(-1, 4),
        )
        for name, people in sorted(boxes.items())
    ]


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every row of ``a`` (N, 4) with every row of ``b`` (M, 4) → (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def inside_crowd(boxes: np.ndarray, crowds: np.ndarray) -> np.ndarray:
    """True per box when at least half of its area lies in one crowd region."""
    if len(crowds) == 0 or len(boxes) == 0:
        return np.zeros(len(boxes), dtype=bool)
    lt = np.maximum(boxes[:, None, :2], crowds[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], crowds[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = np.maximum(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1), 1e-9)
    return (inter / area[:, None]).max(axis=1) >= 0.5


def match(
    found: list[PersonBox], photo: Photo
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy IoU matching of one photo's boxes (any score) to its people.

    Returns per found box (sorted by falling score): score, is-true-positive,
    is-ignored, and the index of the person it matched (-1 for none).
    """
    order = sorted(found, key=lambda b: -b.score)
    scores = np.array([b.score for b in order], dtype=np.float64)
    boxes = np.array([b.box for b in order], dtype=np.float64).reshape(-1, 4)
    matched = np.full(len(order), -1)
    taken = np.zeros(len(photo.people), dtype=bool)
    if len(order) and len(photo.people):
        ious = iou_matrix(boxes, photo.people)
        for i in range(len(order)):
            candidates = np.where(taken, -1.0, ious[i])
            best = int(np.argmax(candidates))
            if candidates[best] >= IOU:
                taken[best] = True
                matched[i] = best
    is_tp = matched >= 0
    ignored = ~is_tp & inside_crowd(boxes, photo.crowds)
    return scores, is_tp, ignored, matched


@dataclass
class Scores:
    detector: str
    recall: float
    recall_visible: float
    precision: float
    ap50: float
    best_threshold: float
    best_exact: float
    held_out_exact: float
    default_threshold: float | None
    default_exact: float | None
    ms_per_photo: float
    default_mae: float | None = None
    default_recall: float | None = None
    default_recall_visible: float | None = None
    default_precision: float | None = None


def best_threshold(results: list[tuple], photos: list[Photo]) -> tuple[float, float]:
    """The grid threshold counting most photos exactly (middle of ties), its rate."""
    rates = [exact_rate(results, photos, float(t)) for t in GRID]
    best = max(rates)
    tied = [float(t) for t, r in zip(GRID, rates, strict=True) if r == best]
    return round(statistics.median_low(tied), 2), best


def held_out_rate(results: list[tuple], photos: list[Photo]) -> float:
    """2-fold estimate: choose on even photos, score on odd ones, and the reverse."""
    rates = []
    for fold in (0, 1):
        train = [i for i in range(len(photos)) if i % 2 == fold]
        test = [i for i in range(len(photos)) if i % 2 != fold]
        threshold, _ = best_threshold(
            [results[i] for i in train], [photos[i] for i in train]
        )
        rates.append(
            exact_rate([results[i] for i in test], [photos[i] for i in test], threshold)
        )
    return statistics.mean(rates)


def count_mae(results: list[tuple], photos: list[Photo], threshold: float) -> float:
    """Mean over photos of |boxes scoring >= threshold (crowds aside) - people|."""
    errors = [
        abs(int(np.sum((scores >= threshold) & ~ignored)) - len(photo.people))
        for (scores, _tp, ignored, _m), photo in zip(results, photos, strict=True)
    ]
    return float(np.mean(errors))


def recall_precision(
    results: list[tuple], photos: list[Photo], threshold: float
) -> tuple[float, float, float]:
    """(recall, recall over people >= 32x32 px, precision) of boxes >= threshold."""
    total = visible_total = hit = hit_visible = kept = kept_tp = 0
    for (scores, is_tp, ignored, matched), photo in zip(results, photos, strict=True):
        above = scores >= threshold
        people_hit = set(matched[above & is_tp].tolist())
        areas = np.prod(photo.people[:, 2:] - photo.people[:, :2], axis=1)
        visible = set(np.flatnonzero(areas >= SMALL_AREA).tolist())
        total += len(photo.people)
        visible_total += len(visible)
        hit += len(people_hit)
        hit_visible += len(people_hit & visible)
        kept += int(np.sum(above & ~ignored))
        kept_tp += int(np.sum(above & is_tp))
    return (
        hit / max(total, 1),
        hit_visible / max(visible_total, 1),
        kept_tp / max(kept, 1),
    )


def exact_rate(results: list[tuple], photos: list[Photo], threshold: float) -> float:
    exact = 0
    for (scores, _tp, ignored, _m), photo in zip(results, photos, strict=True):
        counted = int(np.sum((scores >= threshold) & ~ignored))
        exact += counted == len(photo.people)
    return exact / len(photos)


def average_precision(results: list[tuple], total: int) -> float:
    scores = np.concatenate([r[0][~r[2]] for r in results])
    is_tp = np.concatenate([r[1][~r[2]] for r in results])
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(is_tp[order])
    fp = np.cumsum(~is_tp[order])
    recall = tp / total
    precision = tp / np.maximum(tp + fp, 1)
    # Precision envelope (monotone from the right), then area under the steps.
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * envelope))


def evaluate(
    key: str,
    detector: PersonDetector,
    photos: list[Photo],
    default_threshold: float | None,
) -> Scores:
    found, times = [], []
    for photo in photos:
        rgb = photo.rgb
        started = time.perf_counter()
        found.append(detector.detect(rgb, FLOOR))
        times.append((time.perf_counter() - started) * 1000)
    ms = statistics.median(times)
    results = [match(boxes, photo) for boxes, photo in zip(found, photos, strict=True)]
    total = sum(len(p.people) for p in photos)
    visible_total = 0
    hit = hit_visible = kept = kept_tp = 0
    for (scores, is_tp, ignored, matched), photo in zip(results, photos, strict=True):
        above = scores >= RECALL_AT
        people_hit = set(matched[above & is_tp].tolist())
        areas = np.prod(photo.people[:, 2:] - photo.people[:, :2], axis=1)
        visible = set(np.flatnonzero(areas >= SMALL_AREA).tolist())
        visible_total += len(visible)
        hit += len(people_hit)
        hit_visible += len(people_hit & visible)
        kept += int(np.sum(above & ~ignored))
        kept_tp += int(np.sum(above & is_tp))
    chosen, best = best_threshold(results, photos)
    at_default = (
        (count_mae(results, photos, default_threshold),)
        + recall_precision(results, photos, default_threshold)
        if default_threshold is not None
        else (None, None, None, None)
    )
    return Scores(
        key,
        hit / total,
        hit_visible / max(visible_total, 1),
        kept_tp / max(kept, 1),
        average_precision(results, total),
        chosen,
        best,
        held_out_rate(results, photos),
        default_threshold,
        None
        if default_threshold is None
        else exact_rate(results, photos, default_threshold),
        ms,
        *at_default,
    )


def build_detectors(
    weights_dir: Path, wanted: list[str] | None, variants: bool
) -> dict[str, Callable[[], PersonDetector]]:
    built: dict[str, PersonDetector] = {}

    def onnx(key: str) -> PersonDetector:
        if key not in built:
            spec = get_spec(key)
            built[key] = ONNX_CLASSES[str(spec.decoder)](
                weights_dir / ONNX_FILES[key], key=key, input_size=spec.input_size
            )
        return built[key]

    def counter(spec) -> PersonDetector:
        from demos.ml.detection.counting import TiledPersonDetector
        from demos.ml.detection.resize import picodet_session

        path = weights_dir / ONNX_FILES[spec.parts[0]]
        whole = OnnxPicoDetDetector(
            key=spec.key,
            input_size=spec.input_size,
            session=picodet_session(path, spec.input_size),
        )
        return TiledPersonDetector(
            whole,
            spec.key,
            input_size=spec.input_size,
            small_bonus=spec.small_bonus,
            min_photo_side=spec.tile_min_photo_side or 2 * spec.input_size,
        )

    makers: dict[str, Callable[[], PersonDetector]] = {
        "opencv-hog": HogPersonDetector,
        **{key: (lambda key=key: onnx(key)) for key in ONNX_FILES},
    }
    for spec in specs("person-detection"):
        if spec.pipeline == "tiled":
            makers[spec.key] = lambda spec=spec: counter(spec)
        elif spec.is_fusion:
            makers[spec.key] = lambda spec=spec: FusedPersonDetector(
                [onnx(part) for part in spec.parts],
                spec.key,
                flip=spec.flip,
                iou_threshold=spec.fusion_iou,
            )
    if variants:
        for second in ("picodet-s-416", "picodet-s-320"):
            for flip in (False, True):
                name = f"fusion:yolox-nano+{second}{'+flip' if flip else ''}"
                makers[name] = lambda second=second, flip=flip, name=name: (
                    FusedPersonDetector(
                        [onnx("yolox-nano"), onnx(second)], name, flip=flip
                    )
                )
        makers["fusion:yolox-nano+picodet-s-416+picodet-s-320"] = lambda: (
            FusedPersonDetector(
                [onnx("yolox-nano"), onnx("picodet-s-416"), onnx("picodet-s-320")],
                "three",
            )
        )
    if wanted:
        makers = {key: make for key, make in makers.items() if key in wanted}
    return makers


def print_rows(devset: str, rows: list[Scores], markdown: bool) -> None:
    for row in rows:
        print(
            f"{row.detector:<46} recall {row.recall:.3f} ({row.recall_visible:.3f} "
            f">= 32px)  precision {row.precision:.3f}  AP50 {row.ap50:.3f}  "
            f"exact {row.best_exact:.3f} at {row.best_threshold:.2f} "
            f"(held out {row.held_out_exact:.3f})"
            + (
                f"  (default {row.default_threshold:.2f}: exact "
                f"{row.default_exact:.3f}, MAE {row.default_mae:.2f}, recall "
                f"{row.default_recall:.3f} ({row.default_recall_visible:.3f}), "
                f"precision {row.default_precision:.3f})"
                if row.default_exact is not None
                else ""
            )
            + f"  median {row.ms_per_photo:.0f} ms/photo",
            flush=True,
        )
    if not markdown:
        return
    print(
        f"\n{devset}, at each detector's default threshold:\n\n"
        "| detector | threshold | exact count | count MAE | recall | recall, people "
        "≥ 32² px | precision | AP50 | best threshold (exact there, held out) "
        "| median ms / photo |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if row.default_threshold is None:
            continue
        print(
            f"| {row.detector} | {row.default_threshold:.2f} | "
            f"{row.default_exact:.3f} | {row.default_mae:.2f} | "
            f"{row.default_recall:.3f} | {row.default_recall_visible:.3f} | "
            f"{row.default_precision:.3f} | {row.ap50:.3f} | "
            f"{row.best_threshold:.2f} ({row.best_exact:.3f}, "
            f"{row.held_out_exact:.3f}) | {row.ms_per_photo:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devset", type=Path, default=None)
    parser.add_argument("--weights-dir", type=Path, default=SHARED_DIR / "weights")
    parser.add_argument("--detectors", default="", help="Comma-separated keys.")
    parser.add_argument("--variants", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    devsets = (
        [args.devset]
        if args.devset
        else sorted(p for p in (SHARED_DIR / "devsets").iterdir() if p.is_dir())
    )
    wanted = [k for k in args.detectors.split(",") if k] or None
    makers = build_detectors(args.weights_dir, wanted, args.variants)
    for folder in devsets:
        photos = load_devset(folder)
        total = sum(len(p.people) for p in photos)
        print(
            f"\n{folder.name}: {len(photos)} photos, {total} people, "
            f"{sum(len(p.crowds) for p in photos)} crowd regions (ignored)"
        )
        rows = []
        for key, make in makers.items():
            default = get_spec(key).default_threshold if ":" not in key else None
            rows.append(evaluate(key, make(), photos, default))
            print_rows(folder.name, rows[-1:], markdown=False)
        if args.markdown:
            print_rows(folder.name, rows, markdown=True)
    print(f"\nThe portal's default when every file is ready: {FUSED_DETECTOR}.")


if __name__ == "__main__":
    main()
