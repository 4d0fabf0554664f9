"""Choose the person counter's default on every dev set at once, from cached passes.

A measurement, not a test. Reads the raw passes cached by ``detection_cache.py``
(``var/detcache/``), builds candidate pipelines from them (which passes, tiled or
not, adaptive tiling, how boxes are merged) and operating rules (one score
threshold; or one threshold for boxes several passes agree on and another for boxes
only one pass found; or one for small and one for larger boxes), and scores each
on ``coco128-person`` and ``coco-val-people``:

- count MAE and exact-count rate per set; a rule is chosen by the mean of the two
  sets' MAE (each set weighs the same, whatever its size);
- cross-validation across the sets: chosen on one set, scored on the other, both
  ways — the honest estimate of how the choice does on photos nobody tuned on;
- recall (all people; people of at least 32x32 px) and precision of the counted
  boxes, median ms per photo (sum of the pipeline's passes, measured on one thread);
- the doubt range: a *sure* score above which boxes are counted as certain
  (``count_low``) and a *maybe* score above which they may be people
  (``count_high``), chosen so that the sure count is rarely too high and the range
  usually holds the truth; printed per set.

Never tunes on ``../shared/samples/``.

    .venv/bin/python bench/choose_default.py [--markdown]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
sys.path.insert(0, str(REPO_DIR / "bench"))

import numpy as np  # noqa: E402
from detection_cache import DEVSETS, SHARED_DIR, CachedPass, load_pass  # noqa: E402

from demos.ml.detection.tiling import (  # noqa: E402
    drop_edge_fragments,
    merge_passes,
    needs_tiles,
)

GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
COARSE = np.round(np.arange(0.05, 0.951, 0.05), 2)
IOU = 0.5
SMALL_AREA = 32 * 32
BUDGET_MS = 300


@dataclass
class Truth:
    people: list[np.ndarray]
    crowds: list[np.ndarray]


def load_truth(devset: str) -> Truth:
    folder = SHARED_DIR / "devsets" / devset
    boxes = json.loads((folder / "boxes.json").read_text())
    crowd_file = folder / "person_crowd_regions.json"
    crowds = json.loads(crowd_file.read_text()) if crowd_file.exists() else {}
    names = sorted(boxes)
    return Truth(
        [np.asarray(boxes[n], dtype=np.float64).reshape(-1, 4) for n in names],
        [np.asarray(crowds.get(n, []), dtype=np.float64).reshape(-1, 4) for n in names],
    )


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def inside_crowd(boxes: np.ndarray, crowds: np.ndarray) -> np.ndarray:
    if len(crowds) == 0 or len(boxes) == 0:
        return np.zeros(len(boxes), dtype=bool)
    lt = np.maximum(boxes[:, None, :2], crowds[None, :, :2])
    rb = np.minimum(boxes[:, None, 2:], crowds[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = np.maximum(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1), 1e-9)
    return (inter / area[:, None]).max(axis=1) >= 0.5


def match(boxes: np.ndarray, scores: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Person matched by each box (greedy, falling score, IoU >= 0.5), or -1."""
    matched = np.full(len(boxes), -1)
    if not len(boxes) or not len(people):
        return matched
    ious = iou_matrix(boxes, people)
    taken = np.zeros(len(people), dtype=bool)
    for i in np.argsort(-scores, kind="stable"):
        candidates = np.where(taken, -1.0, ious[i])
        best = int(np.argmax(candidates))
        if candidates[best] >= IOU:
            taken[best] = True
            matched[i] = best
    return matched


# ---------------------------------------------------------------- pipelines


@dataclass
class Output:
    """One pipeline's boxes on one photo, and what the operating rules look at."""

    boxes: np.ndarray
    scores: np.ndarray
    votes: np.ndarray  # passes that found the box
    small: np.ndarray  # bool: area under 32x32 photo px
    ignored: np.ndarray  # bool: inside a crowd region (neither counted nor wrong)
    ms: float


def wbf(
    parts: list[tuple[np.ndarray, np.ndarray]], width: int, height: int, iou: float
):
    from ensemble_boxes import weighted_boxes_fusion

    scale = np.array([width, height, width, height], dtype=np.float64)
    b, s, _ = weighted_boxes_fusion(
        [np.clip(p[0] / scale, 0, 1) for p in parts],
        [p[1] for p in parts],
        [np.zeros(len(p[1])) for p in parts],
        iou_thr=iou,
        skip_box_thr=0.05,
    )
    b = np.asarray(b).reshape(-1, 4) * scale
    # Votes: parts with a box overlapping the fused one by IoU >= iou.
    votes = np.zeros(len(b), dtype=np.int64)
    for p in parts:
        if len(p[0]) and len(b):
            votes += (iou_matrix(b, p[0]) >= iou).any(axis=1)
    return b, np.asarray(s), np.maximum(votes, 1)


def whole(p: CachedPass, i: int) -> tuple[np.ndarray, np.ndarray]:
    return p.boxes[i], p.scores[i]


def tiled(p: CachedPass, i: int) -> tuple[np.ndarray, np.ndarray]:
    """A tiled pass's boxes with the tile-edge fragments dropped."""
    width, height = p.size[i]
    keep = np.zeros(len(p.scores[i]), dtype=bool)
    for t, tile in enumerate(p.tiles[i]):
        mine = p.tile[i] == t
        keep[mine] = drop_edge_fragments(p.boxes[i][mine], tuple(tile), width, height)
    return p.boxes[i][keep], p.scores[i][keep]


Pipeline = Callable[[dict[str, CachedPass], int], tuple]


def make_pipeline(
    whole_passes: list[str],
    tile_pass: str | None = None,
    *,
    fusion: str = "merge",
    adaptive: bool = False,
    small_side: float = 48,
    iou: float = 0.55,
    drop_edges: bool = True,
    small_bonus: float = 0.0,
) -> tuple[list[str], Pipeline]:
    needed = whole_passes + ([tile_pass] if tile_pass else [])

    def run(cache: dict[str, CachedPass], i: int):
        parts = [whole(cache[name], i) for name in whole_passes]
        ms = sum(float(cache[name].ms[i]) for name in whole_passes)
        width, height = cache[needed[0]].size[i]
        if tile_pass:
            use = True
            if adaptive:
                b, s = parts[-1]
                use = needs_tiles(
                    b,
                    s,
                    int(width),
                    int(height),
                    input_size=416,
                    small_side=small_side,
                    min_score=0.3,
                    min_photo_side=0,  # the dev sets' photos are <= 640 px
                )
            if use:
                parts.append(
                    tiled(cache[tile_pass], i)
                    if drop_edges
                    else whole(cache[tile_pass], i)
                )
                ms += float(cache[tile_pass].ms[i])
        if fusion == "wbf":
            boxes, scores, votes = wbf(parts, int(width), int(height), iou)
        else:
            merged = merge_passes(parts, iou_threshold=iou)
            boxes, scores, votes = merged.boxes, merged.scores, merged.votes
        if small_bonus:
            area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
            scores = np.minimum(scores + small_bonus * (area < SMALL_AREA), 1.0)
        return boxes, scores, votes, ms

    return needed, run


PIPELINES: dict[str, tuple[list[str], Pipeline]] = {
    "before: wbf(yolox416, pico416)": make_pipeline(
        ["yolox@416", "pico416@416"], fusion="wbf"
    ),
    "pico416@640": make_pipeline(["pico416@640"]),
    "pico416@640 small+0.06": make_pipeline(["pico416@640"], small_bonus=0.06),
    "wbf(yolox416, pico416@640)": make_pipeline(
        ["yolox@416", "pico416@640"], fusion="wbf"
    ),
    "merge(yolox416, pico416@640)": make_pipeline(["yolox@416", "pico416@640"]),
    "merge(yolox416, pico416, tiles2x2)": make_pipeline(
        ["yolox@416", "pico416@416"], "pico416@416/2x2"
    ),
    "merge(yolox416, pico416, tiles2x2 adaptive)": make_pipeline(
        ["yolox@416", "pico416@416"], "pico416@416/2x2", adaptive=True
    ),
    "merge(pico416, tiles2x2)": make_pipeline(["pico416@416"], "pico416@416/2x2"),
    "merge(pico416, tiles2x2 keeping edge boxes)": make_pipeline(
        ["pico416@416"], "pico416@416/2x2", drop_edges=False
    ),
    # sahi.predict.get_sliced_prediction's merge (GREEDYNMM by IoS 0.5) of the same
    # two passes, made by bench/sahi_merge.py in a throw-away interpreter.
    "sahi(pico416, tiles2x2)": make_pipeline(["sahi:pico416+2x2"]),
    "merge(yolox416, pico416@640, tiles2x2 adaptive)": make_pipeline(
        ["yolox@416", "pico416@640"], "pico416@416/2x2", adaptive=True
    ),
}


def outputs(name: str, devset: str, truth: Truth) -> list[Output]:
    needed, run = PIPELINES[name]
    cache = {p: load_pass(devset, p) for p in needed}
    result = []
    for i in range(len(truth.people)):
        boxes, scores, votes, ms = run(cache, i)
        area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
        # As eval_detectors.py: a box is ignored when it matches nobody (any
        # score) and lies mostly inside a crowd region.
        unmatched = match(boxes, scores, truth.people[i]) < 0
        result.append(
            Output(
                boxes,
                scores,
                votes,
                area < SMALL_AREA,
                unmatched & inside_crowd(boxes, truth.crowds[i]),
                ms,
            )
        )
    return result


# ---------------------------------------------------------------- operating rules


def counts_by_group(outs: list[Output], groups: Callable[[Output], np.ndarray], k: int):
    """(photos, k, len(GRID)) counted boxes per group and threshold."""
    result = np.zeros((len(outs), k, len(GRID)), dtype=np.int64)
    for i, out in enumerate(outs):
        g = groups(out)
        ok = ~out.ignored
        for j in range(k):
            s = out.scores[(g == j) & ok]
            result[i, j] = (s[:, None] >= GRID[None, :]).sum(0)
    return result


RULES: dict[str, tuple[int, Callable[[Output], np.ndarray]]] = {
    "score": (1, lambda o: np.zeros(len(o.scores), dtype=int)),
    "score by agreement": (2, lambda o: (o.votes >= 2).astype(int)),
    "score by size": (2, lambda o: o.small.astype(int)),
}


@dataclass
class Point:
    """An operating point: one threshold per group (index into GRID)."""

    rule: str
    thresholds: tuple[int, ...]

    def label(self) -> str:
        return "/".join(f"{GRID[t]:.2f}" for t in self.thresholds)


def mae_table(counts: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """MAE for every combination of per-group thresholds → array of k dims."""
    k = counts.shape[1]
    if k == 1:
        return np.abs(counts[:, 0, :] - truth[:, None]).mean(0)
    total = counts[:, 0, :, None] + counts[:, 1, None, :]
    return np.abs(total - truth[:, None, None]).mean(0)


def best_point(rule: str, tables: list[np.ndarray]) -> Point:
    mean = np.mean(tables, axis=0)
    index = np.unravel_index(int(np.argmin(mean)), mean.shape)
    return Point(rule, tuple(int(i) for i in index))


def kept_mask(out: Output, point: Point) -> np.ndarray:
    k, groups = RULES[point.rule]
    g = groups(out)
    thresholds = np.array([GRID[t] for t in point.thresholds])
    return out.scores >= thresholds[g]


@dataclass
class SetScores:
    exact: float
    mae: float
    recall: float
    recall_visible: float
    precision: float
    median_ms: float
    recall_by_size: tuple[float, float, float] = (0.0, 0.0, 0.0)  # <32², <96², rest


def score(outs: list[Output], truth: Truth, point: Point) -> SetScores:
    exact = errors = hit = hit_visible = visible = total = kept = kept_tp = 0
    size_hit, size_total = np.zeros(3), np.zeros(3)
    for out, people in zip(outs, truth.people, strict=True):
        mask = kept_mask(out, point)
        counted = int(np.sum(mask & ~out.ignored))
        exact += counted == len(people)
        errors += abs(counted - len(people))
        matched = match(out.boxes[mask], out.scores[mask], people)
        area = np.prod(people[:, 2:] - people[:, :2], axis=1)
        big = area >= SMALL_AREA
        found = matched[matched >= 0]
        bins = np.digitize(area, [SMALL_AREA, 96 * 96])
        size_total += np.bincount(bins, minlength=3)
        size_hit += np.bincount(bins[found], minlength=3)
        hit += len(found)
        hit_visible += int(big[found].sum())
        visible += int(big.sum())
        total += len(people)
        kept += counted
        kept_tp += len(found)
    return SetScores(
        exact / len(outs),
        errors / len(outs),
        hit / max(total, 1),
        hit_visible / max(visible, 1),
        kept_tp / max(kept, 1),
        float(np.median([o.ms for o in outs])),
        tuple(float(h / max(t, 1)) for h, t in zip(size_hit, size_total, strict=True)),
    )


# ---------------------------------------------------------------- doubt range


def _counts(outs: list[Output], threshold: float) -> np.ndarray:
    return np.array([int(np.sum((o.scores >= threshold) & ~o.ignored)) for o in outs])


def doubt_range(
    outs_by_set: dict[str, list[Output]],
    truths: dict[str, Truth],
    too_high: float,
    holds: float,
) -> tuple[int, int]:
    """(sure, maybe) score cut-offs (indices into GRID), chosen on the given sets.

    ``sure``: the lowest threshold whose count is above the truth on at most
    ``too_high`` of the photos of every set. ``maybe``: the highest threshold at or
    below ``sure`` whose range [count(sure), count(maybe)] holds the truth on at
    least ``holds`` of the photos of every set (the narrowest such range), or the
    best-covering one when none reaches it.
    """
    truth = {d: np.array([len(p) for p in truths[d].people]) for d in outs_by_set}
    sure = next(
        t
        for t in range(len(GRID))
        if all(
            np.mean(_counts(outs, GRID[t]) > truth[d]) <= too_high
            for d, outs in outs_by_set.items()
        )
    )
    cover = []
    for t in range(sure + 1):
        rates = []
        for d, outs in outs_by_set.items():
            low, high = _counts(outs, GRID[sure]), _counts(outs, GRID[t])
            rates.append(np.mean((low <= truth[d]) & (truth[d] <= high)))
        cover.append(min(rates))
    good = [t for t in range(sure + 1) if cover[t] >= holds]
    return sure, max(good) if good else int(np.argmax(cover))


def range_report(
    outs: list[Output], truth: Truth, sure: int, maybe: int
) -> tuple[float, float, float, float]:
    """(sure count too high, range holds truth, mean width, median width)."""
    low, high = _counts(outs, GRID[sure]), _counts(outs, GRID[maybe])
    t = np.array([len(p) for p in truth.people])
    return (
        float(np.mean(low > t)),
        float(np.mean((low <= t) & (t <= high))),
        float(np.mean(high - low)),
        float(np.median(high - low)),
    )


# The registry's default before this choice, and the chosen one (see bench/README.md).
BEFORE = ("before: wbf(yolox416, pico416)", 0.28, None)
AFTER = ("pico416@640 small+0.06", 0.39, (0.51, 0.31))


def print_report() -> None:
    """The before/after table of bench/README.md: per dev set, per person size."""
    truths = {d: load_truth(d) for d in DEVSETS}
    print(
        "| dev set | pipeline | threshold | exact count | count MAE | recall "
        "| recall ≥ 32² px | recall < 32² / 32²–96² / ≥ 96² px | precision "
        "| median ms (loaded machine) | sure too high | range holds truth "
        "| range width (median) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for d in DEVSETS:
        for name, threshold, doubt in (BEFORE, AFTER):
            outs = outputs(name, d, truths[d])
            point = Point("score", (int(np.argmin(np.abs(GRID - threshold))),))
            s = score(outs, truths[d], point)
            small, medium, large = s.recall_by_size
            extra = "– | – | –"
            if doubt:
                sure, maybe = (int(np.argmin(np.abs(GRID - v))) for v in doubt)
                hi, holds, _w, median = range_report(outs, truths[d], sure, maybe)
                extra = f"{hi:.3f} | {holds:.3f} | {median:.0f}"
            print(
                f"| {d} | {name} | {threshold:.2f} | {s.exact:.3f} | {s.mae:.2f} | "
                f"{s.recall:.3f} | {s.recall_visible:.3f} | {small:.3f} / "
                f"{medium:.3f} / {large:.3f} | {s.precision:.3f} | "
                f"{s.median_ms:.0f} | {extra} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pipelines", default="", help="Names separated by semicolons."
    )
    parser.add_argument("--too-high", type=float, default=0.05)
    parser.add_argument("--holds", type=float, default=0.8)
    parser.add_argument("--report", action="store_true", help="Before/after table.")
    args = parser.parse_args()
    if args.report:
        print_report()
        return
    truths = {d: load_truth(d) for d in DEVSETS}
    names = [n for n in args.pipelines.split(";") if n] or list(PIPELINES)
    for name in names:
        outs = {d: outputs(name, d, truths[d]) for d in DEVSETS}
        truth_counts = {
            d: np.array([len(p) for p in truths[d].people]) for d in DEVSETS
        }
        print(f"\n== {name}", flush=True)
        for rule, (k, groups) in RULES.items():
            tables = {
                d: mae_table(counts_by_group(outs[d], groups, k), truth_counts[d])
                for d in DEVSETS
            }
            both = best_point(rule, list(tables.values()))
            line = f"  {rule:<20} chosen on both {both.label():<10}"
            for d in DEVSETS:
                s = score(outs[d], truths[d], both)
                line += (
                    f" | {d}: exact {s.exact:.3f} MAE {s.mae:.2f} rec {s.recall:.3f}"
                    f" ({s.recall_visible:.3f}) prec {s.precision:.3f}"
                    f" {s.median_ms:.0f}ms"
                )
            print(line)
            for train, test in (DEVSETS, DEVSETS[::-1]):
                point = best_point(rule, [tables[train]])
                s = score(outs[test], truths[test], point)
                print(
                    f"    chosen on {train} ({point.label()}) -> {test}: exact "
                    f"{s.exact:.3f} MAE {s.mae:.2f}"
                )
        sure, maybe = doubt_range(outs, truths, args.too_high, args.holds)
        line = f"  range: sure >= {GRID[sure]:.2f}, maybe >= {GRID[maybe]:.2f}"
        for d in DEVSETS:
            hi, holds, width, median = range_report(outs[d], truths[d], sure, maybe)
            line += (
                f" | {d}: sure too high {hi:.3f}, range holds {holds:.3f},"
                f" width {width:.2f} (median {median:.0f})"
            )
        print(line)
        for train, test in (DEVSETS, DEVSETS[::-1]):
            s2, m2 = doubt_range(
                {train: outs[train]}, truths, args.too_high, args.holds
            )
            hi, holds, width, median = range_report(outs[test], truths[test], s2, m2)
            print(
                f"    range chosen on {train} ({GRID[s2]:.2f}/{GRID[m2]:.2f})"
                f" -> {test}: "
                f"sure too high {hi:.3f}, holds {holds:.3f}, width {width:.2f}"
                f" (median {median:.0f})"
            )


if __name__ == "__main__":
    main()
