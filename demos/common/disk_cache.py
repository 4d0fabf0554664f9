"""Keep a folder of cached runs under a byte budget: the oldest runs go first.

Pure module: pathlib and shutil only, never ``django``. A *run* is a folder holding
a ``run.json`` (written last, so a folder still being written is not one yet); its
size is the sum of its files. ``trim`` removes whole runs, oldest ``run.json``
first, until the cache is within ``max_bytes``: a later request for an evicted run
simply renders it again.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

MARKER = "run.json"


@dataclass(frozen=True)
class CachedRun:
    folder: Path
    written: float  # the marker's mtime, seconds since the epoch
    size: int  # bytes of the folder's files


def cached_runs(root: Path) -> list[CachedRun]:
    """Every complete run under ``root``, oldest first."""
    runs = []
    for marker in root.rglob(MARKER):
        try:
            written = marker.stat().st_mtime
            size = sum(p.stat().st_size for p in marker.parent.iterdir() if p.is_file())
        except FileNotFoundError:  # removed meanwhile by another process
            continue
        runs.append(CachedRun(marker.parent, written, size))
    return sorted(runs, key=lambda run: (run.written, str(run.folder)))


def trim(root: Path, max_bytes: int, *, keep: Path | None = None) -> list[Path]:
    """Remove the oldest runs under ``root`` until their total is at most
    ``max_bytes`` (``keep``, the run just written, stays). Returns what went."""
    runs = cached_runs(root) if root.is_dir() else []
    total = sum(run.size for run in runs)
    removed = []
    for run in runs:
        if total <= max_bytes:
            break
        if keep is not None and run.folder == keep:
            continue
        shutil.rmtree(run.folder, ignore_errors=True)
        total -= run.size
        removed.append(run.folder)
    return removed
