"""Data behind lessons 7-9, translated and ready to serialise: architectures,
transfer learning, augmentation plans and grids.

Shared by the lesson file views (``views.py``) and the API (``api.py``), so neither
imports the other. Every number comes from ``demos.ml.profiling`` /
``demos.ml.augmentation`` (computed once per process); this module only
translates labels, picks the sample photos and encodes PNGs. Imports nothing from
the web layer.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from demos.common.imaging import decode_image, encode_png
from demos.common.limits import image_limits
from demos.common.samples import title_of_file
from demos.ml.augmentation import (
    MAX_TILES,
    TilePlan,
    augmentation_grid,
    augmentation_plan,
    draw_digit,
    grid_size,
    tile_box,
)
from demos.ml.profiling import (
    TRANSFER_CASES,
    TRANSFER_NUM_CLASSES,
    TRANSFER_STRATEGIES,
    all_architecture_summaries,
    architecture_summary,
    compare_residual_blocks,
    transfer_learning_counts,
)
from portal.lib.errors import BadInput

DIGIT_SAMPLE = "digit-6"
DEFAULT_TILES = 8
TILE_SIZE = 160
COLUMNS = 4
MAX_SEED = 2**31 - 1
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

MODEL_NOTES = {
    "lenet5": gettext_lazy(
        "Two 5×5 convolutions with average pooling and tanh read 32×32 handwritten "
        "digits: the template of every CNN since."
    ),
    "alexnet": gettext_lazy(
        "ReLU, dropout and overlapping max pooling won ImageNet 2012; most of its "
        "parameters sit in the fully connected classifier."
    ),
    "vgg16": gettext_lazy(
        "Only 3×3 convolutions, stacked in five stages: simple and heavy. Nine "
        "tenths of its 138 M parameters sit in the classifier, most MACs in the "
        "convolutions."
    ),
    "googlenet": gettext_lazy(
        "Inception modules run 1×1, 3×3 and 5×5 convolutions and pooling side by "
        "side, with 1×1 reductions first: about 9× fewer parameters than AlexNet."
    ),
    "resnet18": gettext_lazy(
        "Skip connections let the signal and the gradient bypass each pair of 3×3 "
        "convolutions (basic blocks), so 18 layers train easily."
    ),
    "resnet50": gettext_lazy(
        "50 layers built from 1×1 bottleneck blocks (256 → 64 → 256): much deeper, "
        "yet only about twice ResNet18's parameters."
    ),
}
STRATEGY_LABELS = {
    "feature-extractor": gettext_lazy("Feature extractor"),
    "fine-tune-last-stage": gettext_lazy("Fine-tune the last stage"),
    "fine-tune-all": gettext_lazy("Fine-tune everything"),
}
STRATEGY_DESCRIPTIONS = {
    "feature-extractor": gettext_lazy(
        "Freeze the whole pretrained backbone and train only the new 33-class "
        "layer. Fast and safe with little data, but the features cannot adapt."
    ),
    "fine-tune-last-stage": gettext_lazy(
        "Freeze conv1 to layer3 (generic edges, textures, parts) and train layer4 "
        "with the new head, using a small learning rate for layer4."
    ),
    "fine-tune-all": gettext_lazy(
        "Start from the pretrained weights and train every layer with a small "
        "learning rate. Needs the most data and compute; adapts the most."
    ),
}
SIZE_LABELS = {
    "small": gettext_lazy("Small dataset"),
    "large": gettext_lazy("Large dataset"),
}
SIMILARITY_LABELS = {
    "similar": gettext_lazy("Similar to ImageNet"),
    "different": gettext_lazy("Different from ImageNet"),
}
CASE_REASONS = {
    ("small", "similar"): gettext_lazy(
        "The pretrained features already describe your images; training more than "
        "the head would only overfit the few examples."
    ),
    ("small", "different"): gettext_lazy(
        "Too little data to fine-tune, and the last stage is the most "
        "ImageNet-specific: freeze, take features from an earlier stage such as "
        "layer3, train a small head and augment heavily."
    ),
    ("large", "similar"): gettext_lazy(
        "Enough data to fine-tune the whole network without overfitting; use a "
        "small learning rate. Fine-tuning only the last stage is a cheaper first try."
    ),
    ("large", "different"): gettext_lazy(
        "Enough data to adapt every layer: fine-tune everything. Pretrained "
        "weights are still a better start than random ones."
    ),
}
OP_LABELS = {
    "resized-crop": gettext_lazy("Random resized crop"),
    "hflip": gettext_lazy("Horizontal flip"),
    "vflip": gettext_lazy("Vertical flip"),
    "rotate": gettext_lazy("Small rotation"),
    "rotate-large": gettext_lazy("Large rotation"),
    "color-jitter": gettext_lazy("Colour jitter"),
    "grayscale": gettext_lazy("Greyscale"),
    "blur": gettext_lazy("Gaussian blur"),
    "erase": gettext_lazy("Random erasing"),
}
WHY_WRONG_FOR_DIGITS = {
    "hflip": gettext_lazy(
        "A mirrored 2, 3, 4, 7 or 9 is no digit at all: the model learns shapes "
        "that never occur."
    ),
    "vflip": gettext_lazy(
        "A vertical flip mirrors a digit top to bottom: a 6 does not become a 9 "
        "(only a 180° rotation does that), it becomes a shape nobody writes."
    ),
    "rotate-large": gettext_lazy(
        "Rotated far, a 6 drifts towards a 9 and a 9 towards a 6; keep digit "
        "rotations within about ±15°."
    ),
}


def _gettext_label(mapping: dict[Any, Any], key: Any) -> str:
    return str(mapping.get(key, key))


# --- Payloads ------------------------------------------------------------------------


def architecture_dict(key: str, *, with_layers: bool) -> dict:
    data = architecture_summary(key).as_dict(with_layers=with_layers)
    data["note"] = _gettext_label(MODEL_NOTES, key)
    return data


def _block_dict(block: Any) -> dict:
    return {
        "name": block.name,
        "channels": block.channels,
        "size": block.size,
        "params": block.params,
        "macs": block.macs,
        "layers": [row.as_dict() for row in block.layers],
    }


def architectures_payload() -> dict:
    """Every architecture with its layer table, plus the residual-block comparison."""
    blocks = compare_residual_blocks()
    return {
        "models": [
            architecture_dict(summary.key, with_layers=True)
            for summary in all_architecture_summaries()
        ],
        "blocks": {
            "basic": _block_dict(blocks.basic),
            "bottleneck": _block_dict(blocks.bottleneck),
            "params_ratio": round(blocks.params_ratio, 1),
        },
        "convention": _(
            "MACs count one multiply-add of a Conv2d or Linear layer per image; "
            "GFLOPs = 2 × GMACs. torchvision's published “GFLOPS” (the weights' "
            "_ops metadata) count one multiply-add as one operation, so compare "
            "them with the GMACs column."
        ),
    }


def transfer_payload() -> dict:
    """Trainable/frozen counts per strategy and the four dataset cases."""
    strategies = []
    for key in TRANSFER_STRATEGIES:
        counts = transfer_learning_counts(key)
        strategies.append(
            {
                "key": key,
                "label": _gettext_label(STRATEGY_LABELS, key),
                "description": _gettext_label(STRATEGY_DESCRIPTIONS, key),
                "trainable": counts.trainable,
                "frozen": counts.frozen,
                "total": counts.total,
                "trainable_share": round(counts.trainable_share, 4),
                "trainable_blocks": list(counts.trainable_blocks),
            }
        )
    cases = [
        {
            "size": case.size,
            "similarity": case.similarity,
            "size_label": _gettext_label(SIZE_LABELS, case.size),
            "similarity_label": _gettext_label(SIMILARITY_LABELS, case.similarity),
            "strategy": case.strategy,
            "strategy_label": _gettext_label(STRATEGY_LABELS, case.strategy),
            "reason": _gettext_label(CASE_REASONS, (case.size, case.similarity)),
        }
        for case in TRANSFER_CASES
    ]
    return {
        "model": "resnet50",
        "num_classes": TRANSFER_NUM_CLASSES,
        "blocks": ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"],
        "strategies": strategies,
        "cases": cases,
    }


def plan_payload(plans: tuple[TilePlan, ...], *, seed: int) -> dict:
    """Tile labels (translated) and positions for a grid of ``plans``."""
    columns = min(COLUMNS, len(plans))
    width, height = grid_size(len(plans), columns=COLUMNS, tile_size=TILE_SIZE)
    tiles = []
    for plan in plans:
        ops = [
            {
                "key": op.key,
                "label": _gettext_label(OP_LABELS, op.key),
                "detail": op.detail,
                "wrong_for_digits": op.wrong_for_digits,
                "why": _gettext_label(WHY_WRONG_FOR_DIGITS, op.key)
                if op.wrong_for_digits
                else "",
            }
            for op in plan.ops
        ]
        tiles.append(
            {
                "index": plan.index,
                "box": list(tile_box(plan.index, columns=columns, tile_size=TILE_SIZE)),
                "wrong_for_digits": plan.wrong_for_digits,
                "ops": ops,
            }
        )
    return {
        "seed": seed,
        "count": len(plans),
        "columns": columns,
        "tile_size": TILE_SIZE,
        "width": width,
        "height": height,
        "tiles": tiles,
    }


def augmentation_plan_payload(*, seed: int, count: int) -> dict:
    """What each of ``count`` tiles drawn from ``seed`` gets, without any image."""
    plans = augmentation_plan(count=count, seed=seed, tile_size=TILE_SIZE)
    return plan_payload(plans, seed=seed)


# --- Augmentation input ----------------------------------------------------------


def sample_paths() -> dict[str, Path]:
    """Photos shipped in ``static/img/samples/`` by file stem (the public choices)."""
    folder = finders.find("img/samples")
    if not folder or not Path(folder).is_dir():
        return {}
    return {
        path.stem: path
        for path in sorted(Path(folder).iterdir())
        if path.suffix.lower() in SAMPLE_SUFFIXES
    }


def samples_payload() -> dict:
    """The shipped photos (with their static URLs), the digit and the tile limits."""
    samples = [
        {
            "key": key,
            "label": title_of_file(path.name),
            "url": static(f"img/samples/{path.name}"),
        }
        for key, path in sample_paths().items()
    ]
    samples.append(
        {"key": DIGIT_SAMPLE, "label": _("Handwritten-style digit 6"), "url": ""}
    )
    return {"samples": samples, "max_count": MAX_TILES, "default_count": DEFAULT_TILES}


def _sample_rgb(key: str) -> np.ndarray:
    if key == DIGIT_SAMPLE:
        return draw_digit("6", size=TILE_SIZE)
    path = sample_paths().get(key)
    if path is None:
        raise BadInput(_("Unknown sample image."))
    return decode_image(path.read_bytes(), image_limits()).rgb


@lru_cache(maxsize=32)
def sample_grid_png(sample: str, seed: int, count: int) -> bytes:
    """PNG grid for a shipped sample; samples are public, so cache per process."""
    grid = augmentation_grid(
        _sample_rgb(sample), count=count, seed=seed, tile_size=TILE_SIZE
    )
    return encode_png(grid.image)


def augment_png(*, sample: str, image: Any, seed: int, count: int) -> bytes:
    """The grid PNG for an uploaded file (preferred when given) or a sample name."""
    if image is None:
        return sample_grid_png(sample, seed, count)
    limit = settings.MAX_UPLOAD_BYTES
    if image.size > limit:
        # Refuse before reading a huge body into memory.
        raise BadInput(
            _("The file is %(size).1f MB; the limit is %(limit).1f MB.")
            % {"size": image.size / 2**20, "limit": limit / 2**20}
        )
    rgb = decode_image(image.read(), image_limits()).rgb
    grid = augmentation_grid(rgb, count=count, seed=seed, tile_size=TILE_SIZE)
    return encode_png(grid.image)
