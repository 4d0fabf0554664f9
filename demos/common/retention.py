"""Retention of students' photos outside the person demo: the feature-map cache.

``demos/widgets/maps.py`` caches the feature maps of each uploaded photo or drawing
under ``FEATURE_MAP_CACHE_DIR/maps/users/<user id>/<digest>/``, including
``input.png``, the photo as the network saw it. Those are students' photos too,
so ``manage.py cleanup_media`` removes them after ``RETENTION_DAYS`` like runs.
Sample photos (``maps/public/``) are not personal and stay. A removed folder is
simply recomputed if its owner asks for it again.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from django.conf import settings

SECONDS_PER_DAY = 86_400


def user_cache_root() -> Path:
    return Path(settings.FEATURE_MAP_CACHE_DIR) / "maps" / "users"


def _age_stamp(folder: Path) -> float:
    # run.json is written last, once: its time is when the maps were made.
    marker = folder / "run.json"
    return (marker if marker.exists() else folder).stat().st_mtime


def remove_expired_user_caches(
    *, older_than_days: int, dry_run: bool = False
) -> list[Path]:
    """Delete cached feature-map folders of uploads made over N days ago.

    Returns the removed (with ``dry_run``, the would-be removed) folders; empty
    owner folders are removed too. Safe to run again: a second run finds nothing.
    """
    root = user_cache_root()
    if older_than_days <= 0 or not root.is_dir():
        return []
    cutoff = time.time() - older_than_days * SECONDS_PER_DAY
    expired = [
        folder
        for owner in sorted(root.iterdir())
        if owner.is_dir() and not owner.is_symlink()
        for folder in sorted(owner.iterdir())
        if folder.is_dir() and not folder.is_symlink() and _age_stamp(folder) < cutoff
    ]
    if not dry_run:
        for folder in expired:
            shutil.rmtree(folder, ignore_errors=True)
        for owner in root.iterdir():
            if owner.is_dir() and not any(owner.iterdir()):
                owner.rmdir()
    return expired
