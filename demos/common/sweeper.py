"""The one orphan sweeper: stored files whose owner is gone, finished or expired.

Every kind of stored file registers an ``Owner`` here: where its files live (a
storage and a prefix), how to tell which of them are still referenced, and how long
an unreferenced one is left alone (a file written just before its row commits is
not an orphan yet). The owners are the person demo's runs
(``demos/people/services.py``), the detection jobs' uploads
(``demos/people/jobs/services.py``), the transfer runs' ZIPs and checkpoints
(``demos/widgets/transfer_runs.py``) and the feature-map cache of uploads
(``demos/widgets/maps.py``).

An owner's *entries* are the paths two levels under its prefix
(``runs/<owner id>/<public id>``, ``jobs/<owner id>/<public id>``,
``transfer/<public id>/<file>``, ``maps/users/<user id>/<digest>``); anything else
directly under the prefix (a stray file, a symlink) is an unreferenced entry too.
The owner's ``judge`` says of each entry whether it is ``LIVE`` (kept), ``ENDED``
(its owner is done with it: removed now) or neither (removed once older than the
grace period). Symlinks are removed, never followed.

``sweep`` runs every registered owner: ``manage.py cleanup_media`` and the hourly
task ``demos.tasks.cleanup_media`` (Celery beat, or the in-process sweeper of
``portal/sweeper.py``) call it; the minute-by-minute job sweep calls ``sweep_owner``
for the job uploads alone.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from django.core.files.storage import FileSystemStorage, Storage
from django.utils import timezone

from demos.common import media

SECONDS_PER_DAY = 86_400


class Verdict(Enum):
    LIVE = "live"  # referenced: kept whatever its age
    ENDED = "ended"  # its owner has finished with it: removed at once


@dataclass(frozen=True)
class Owner:
    """One kind of stored files and how to tell its orphans."""

    key: str  # names the owner in reports: "runs", "jobs", "transfer", ...
    prefix: str  # the folder its files live under, in ``storage``
    # Of these entry names (relative to the prefix, "a/b"), the ones referenced
    # (LIVE) or finished with (ENDED); an entry left out is unreferenced.
    judge: Callable[[list[str]], dict[str, Verdict]]
    # How long an unreferenced entry is kept; ``None``: the retention period
    # (students' photos kept ``RETENTION_DAYS``, not swept when that is 0).
    grace_seconds: int | None = 3600
    storage: Callable[[], Storage] = media.media_storage
    # A file whose time dates a folder entry (written once, last); else the
    # folder's own time (a bucket: its newest object's).
    stamp: str = ""
    # Rows past the retention period, deleted with their files:
    # ``expire(older_than_days=, dry_run=)`` → what went.
    expire: Callable[..., list] | None = None
    # How ``manage.py cleanup_media`` words it: ``summary`` after "Deleted" with
    # ``{removed}`` and ``{expired}`` counts; ``item`` before each path listed.
    summary: str = "{removed} orphan path(s)."
    item: str = "orphan"


@dataclass
class SweepResult:
    """What one owner's sweep removed (with ``dry_run``: would remove)."""

    owner: Owner
    expired: list = field(default_factory=list)
    removed: list[Path | str] = field(default_factory=list)


_OWNERS: dict[str, Owner] = {}


def register(owner: Owner) -> Owner:
    """Add ``owner`` to what ``sweep`` sweeps (again under the same key: replaced)."""
    _OWNERS[owner.key] = owner
    return owner


def owners() -> list[Owner]:
    return list(_OWNERS.values())


def folder_storage(location: str | Path) -> Storage:
    """A local folder as a storage (the transfer runs, the feature-map cache)."""
    return FileSystemStorage(location=str(location))


def row_states(
    model: Any, names: list[str], *, public_id_of: Callable[[str], str]
) -> dict[str, str]:
    """Of these entry names, the ``state`` of the ``model`` row each one names by
    its public id (``public_id_of(name)``); names of no row (or no id) left out."""
    ids = {}
    for name in names:
        with contextlib.suppress(ValueError):
            ids[name] = uuid.UUID(public_id_of(name))
    rows = model.objects.filter(public_id__in=set(ids.values()))
    states = {
        str(public_id): state
        for public_id, state in rows.values_list("public_id", "state")
    }
    return {
        name: states[str(found)] for name, found in ids.items() if str(found) in states
    }


def sweep(
    *, retention_days: int, dry_run: bool = False, only: Iterable[str] | None = None
) -> dict[str, SweepResult]:
    """Expire and sweep every registered owner (or those in ``only``), by key."""
    wanted = set(only) if only is not None else None
    results = {}
    for owner in owners():
        if wanted is not None and owner.key not in wanted:
            continue
        result = SweepResult(owner)
        if owner.expire is not None and retention_days > 0:
            result.expired = owner.expire(
                older_than_days=retention_days, dry_run=dry_run
            )
        grace = owner.grace_seconds
        if grace is None:
            grace = retention_days * SECONDS_PER_DAY if retention_days > 0 else None
        if grace is not None:
            result.removed = sweep_owner(owner, dry_run=dry_run, grace_seconds=grace)
        results[owner.key] = result
    return results


def sweep_owner(
    owner: Owner, *, dry_run: bool = False, grace_seconds: int | None = None
) -> list[Path | str]:
    """Remove ``owner``'s unreferenced entries older than the grace period and the
    ended ones; the removed (or, with ``dry_run``, the would-be removed) paths:
    local paths for a folder, storage names for a bucket."""
    grace = owner.grace_seconds if grace_seconds is None else grace_seconds
    if grace is None:
        raise ValueError(f"{owner.key}: a retention owner needs grace_seconds")
    storage = owner.storage()
    root = media.local_root(storage)
    if root is None:
        return list(_sweep_bucket(owner, storage, grace, dry_run))
    return list(_sweep_folder(owner, Path(root), grace, dry_run))


def _sweep_folder(owner: Owner, root: Path, grace: int, dry_run: bool) -> list[Path]:
    top = root / owner.prefix
    if not top.is_dir() or top.is_symlink():
        return []
    stray: list[Path] = []
    entries: dict[str, Path] = {}
    for first in sorted(top.iterdir()):
        if first.is_symlink() or not first.is_dir():
            stray.append(first)
            continue
        for second in sorted(first.iterdir()):
            entries[f"{first.name}/{second.name}"] = second
    verdicts = owner.judge(list(entries))
    cutoff = time.time() - grace
    doomed = [path for path in stray if path.lstat().st_mtime < cutoff]
    for name, path in entries.items():
        verdict = verdicts.get(name)
        if verdict is Verdict.ENDED or (
            verdict is None and _local_age(path, owner.stamp) < cutoff
        ):
            doomed.append(path)
    if not dry_run:
        for path in doomed:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        emptied = {path.parent for path in doomed if path.parent != top}
        for folder in emptied:
            with contextlib.suppress(OSError):  # a new entry there keeps it
                folder.rmdir()
    return doomed


def _local_age(path: Path, stamp: str) -> float:
    if stamp and path.is_dir() and not path.is_symlink():
        marker = path / stamp
        if marker.is_file():
            return marker.stat().st_mtime
    return path.lstat().st_mtime


def _sweep_bucket(
    owner: Owner, storage: Storage, grace: int, dry_run: bool
) -> list[str]:
    """The same for a bucket: prefixes have no time of their own, so a folder's age
    is its stamp's, else its newest object's."""
    prefix = owner.prefix
    firsts, stray_files = storage.listdir(prefix)
    stray = [f"{prefix}/{name}" for name in stray_files]
    entries: dict[str, tuple[str, bool]] = {}
    for first in firsts:
        folders, files = storage.listdir(f"{prefix}/{first}")
        for name in files:
            entries[f"{first}/{name}"] = (f"{prefix}/{first}/{name}", False)
        for name in folders:
            entries[f"{first}/{name}"] = (f"{prefix}/{first}/{name}", True)
    verdicts = owner.judge(list(entries))
    cutoff = timezone.now() - timedelta(seconds=grace)
    doomed = [name for name in stray if storage.get_modified_time(name) < cutoff]
    for key, (name, is_folder) in sorted(entries.items()):
        verdict = verdicts.get(key)
        if verdict is Verdict.LIVE:
            continue
        if verdict is None:
            newest = _bucket_age(storage, name, is_folder, owner.stamp)
            if newest is not None and newest >= cutoff:
                continue
        doomed.append(name)
    if not dry_run:
        for name in doomed:
            media.delete_tree(name, storage)
            storage.delete(name)  # a stray object at that exact name
    return sorted(doomed)


def _bucket_age(
    storage: Storage, name: str, is_folder: bool, stamp: str
) -> datetime | None:
    if not is_folder:
        return storage.get_modified_time(name)
    if stamp and storage.exists(f"{name}/{stamp}"):
        return storage.get_modified_time(f"{name}/{stamp}")
    return media.newest_modified(name, storage)
