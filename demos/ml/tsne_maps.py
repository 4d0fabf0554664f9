"""t-SNE maps of the digits (lesson 11), read without torch: the perplexities
offered, the maps of one perplexity from the committed file, and how well a map
keeps each digit together. ``demos.ml.digits`` computes them (with torch and
scikit-learn, in ``train_digits``); web workers only read them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from demos.ml.bundled import WEIGHTS_DIR

TSNE_FILE = WEIGHTS_DIR / "digits_tsne.json"

# The perplexities lesson 11's map offers; TSNE_PERPLEXITY's maps are "views" in
# TSNE_FILE, the others under "other_perplexities" (all computed by train_digits:
# t-SNE of 360 points takes seconds, too slow for a request).
TSNE_PERPLEXITIES = (5, 15, 30, 50)
TSNE_PERPLEXITY = 30


def read_maps(path: Path = TSNE_FILE) -> dict:
    """TSNE_FILE's contents (``FileNotFoundError`` until ``train_digits`` ran)."""
    return json.loads(path.read_text(encoding="utf-8"))


def tsne_views(meta: dict, perplexity: int) -> dict[str, list]:
    """``{view: N x 2 points}`` at ``perplexity`` from TSNE_FILE's contents;
    ``KeyError`` when that perplexity was not computed."""
    if perplexity == meta.get("perplexity", TSNE_PERPLEXITY):
        return meta["views"]
    return meta.get("other_perplexities", {})[str(perplexity)]


def neighbour_agreement(points: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Share of the ``k`` nearest map neighbours of each point (N x 2) that carry
    its label (N ints), 0..1: how cleanly the map keeps each digit together."""
    points = np.asarray(points, np.float64)
    labels = np.asarray(labels)
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(squared, np.inf)
    nearest = np.argsort(squared, axis=1, kind="stable")[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())
