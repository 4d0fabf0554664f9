"""The architecture lessons' numbers, computed once per machine and kept on disk.

Pure module (no Django; torch only inside the functions that compute). The
architecture comparison (every classic CNN's layer table, parameters and MACs,
``profiling.all_architecture_summaries``; the residual-block comparison) and the
transfer-learning counts (ResNet50's trainable/frozen parameters per strategy,
``profiling.transfer_learning_counts``) and the autoencoder lesson's one document
(the test digits, their reconstructions, the t-SNE maps; it also depends on the
committed weights, hashed into its file name) depend on nothing but the code and the
installed torch/torchvision, yet computing them imports torch and torchvision
(about 700 MB and 2–20 s in a web worker) and builds every model on the meta device.

``load_or_compute(folder, name, compute)`` keeps ``compute()``'s JSON-able result in
``<folder>/<name>-<fingerprint>.json``; the fingerprint hashes the torch and
torchvision versions (from the installed packages' metadata, without importing
them) and the source of ``profiling.py``, so an upgrade or a code change computes
again. ``manage.py export_onnx`` (which ``make run`` runs) fills the files, so web
workers only read them; a missing file is computed (with torch) on first use and
written for every later process.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

ARCHITECTURES = "architectures"
TRANSFER_COUNTS = "transfer-counts"
AUTOENCODER = "autoencoder"


@cache
def fingerprint() -> str:
    """What the catalogues depend on: torch/torchvision versions, profiling's code."""
    digest = hashlib.sha256()
    for package in ("torch", "torchvision"):
        try:
            digest.update(f"{package}={metadata.version(package)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=none;".encode())
    for module in ("profiling.py", "residual_blocks.py", "freezing.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def path_of(folder: Path, name: str, depends: Sequence[Path] = ()) -> Path:
    """The file of catalogue ``name``; ``depends``: files its numbers come from (a
    weights file), hashed into the name so new weights compute it again."""
    tag = fingerprint()
    if depends:
        digest = hashlib.sha256(tag.encode())
        for path in depends:
            digest.update(path.read_bytes())
        tag = digest.hexdigest()[:16]
    return folder / f"{name}-{tag}.json"


def load_or_compute(
    folder: Path, name: str, compute: Callable[[], Any], depends: Sequence[Path] = ()
) -> Any:
    """``compute()``'s result, read from ``folder`` when a process already wrote it."""
    path = path_of(folder, name, depends)
    try:
        return json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        pass
    value = compute()
    folder.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".part")
    with os.fdopen(handle, "w") as out:
        json.dump(value, out)
    os.replace(partial, path)
    return value


def architectures_catalogue() -> dict[str, Any]:
    """Every architecture (``as_dict(with_layers=True)``, course order) and the
    residual-block comparison's numbers."""
    from demos.ml.profiling import all_architecture_summaries
    from demos.ml.residual_blocks import compare_residual_blocks

    blocks = compare_residual_blocks()
    return {
        "models": [s.as_dict(with_layers=True) for s in all_architecture_summaries()],
        "blocks": {
            "basic": _block(blocks.basic),
            "bottleneck": _block(blocks.bottleneck),
            "params_ratio": blocks.params_ratio,
        },
    }


def _block(block: Any) -> dict[str, Any]:
    return {
        "name": block.name,
        "channels": block.channels,
        "size": block.size,
        "params": block.params,
        "macs": block.macs,
        "layers": [row.as_dict() for row in block.layers],
    }


def transfer_counts_catalogue() -> dict[str, dict[str, Any]]:
    """Trainable/frozen parameter counts of every transfer strategy."""
    from demos.ml.freezing import TRANSFER_STRATEGIES, transfer_learning_counts

    rows = {}
    for key in TRANSFER_STRATEGIES:
        counts = transfer_learning_counts(key)
        rows[key] = {
            "trainable": counts.trainable,
            "frozen": counts.frozen,
            "total": counts.total,
            "trainable_share": counts.trainable_share,
            "trainable_blocks": list(counts.trainable_blocks),
        }
    return rows
