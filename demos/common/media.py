"""Private media through Django's storage API: a local folder or an S3 bucket.

Run and job files are named ``runs/<owner id>/<public id>/...`` and
``jobs/<owner id>/<public id>/upload``, relative to the ``default`` storage
(``FileSystemStorage`` under ``MEDIA_ROOT`` unless ``PORTAL_STORAGE=s3``). Nothing
here builds a public URL: files reach a browser only through the views that check
ownership, which stream them from the storage.

Names come from the server, never from uploads; ``checked_name`` still refuses any
name outside its top folder, so a corrupted row can never read or delete another
user's (or the portal's) files.
"""

from __future__ import annotations

import posixpath
import shutil
from collections.abc import Iterator
from datetime import datetime

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages


def media_storage() -> Storage:
    """The storage of private media (``STORAGES["default"]``)."""
    return storages["default"]


def local_root(storage: Storage | None = None) -> str | None:
    """The storage's folder on this machine, or ``None`` for a remote store (S3)."""
    storage = storage or media_storage()
    try:
        return storage.path("")
    except NotImplementedError:
        return None


def checked_name(name: str, top: str) -> str:
    """``name`` normalised, or ``FileNotFoundError`` if it is not under ``top/``."""
    clean = posixpath.normpath(name.replace("\\", "/"))
    if clean.startswith("/") or not clean.startswith(f"{top}/") or ".." in clean:
        raise FileNotFoundError(name)
    return clean


def save_bytes(name: str, data: bytes) -> None:
    """Store ``data`` under exactly ``name`` (the server picks unique folders)."""
    saved = media_storage().save(name, ContentFile(data))
    if saved != name:
        # The storage renamed it (an existing file): never leave the stray copy.
        media_storage().delete(saved)
        raise FileExistsError(name)


def open_file(name: str) -> File:
    """The stored file opened for reading; ``FileNotFoundError`` if missing."""
    return media_storage().open(name, "rb")


def read_bytes(name: str) -> bytes:
    with open_file(name) as handle:
        return handle.read()


def walk_files(prefix: str, storage: Storage | None = None) -> Iterator[str]:
    """Every file name under the folder ``prefix`` (depth first)."""
    storage = storage or media_storage()
    try:
        folders, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in sorted(files):
        yield f"{prefix}/{name}"
    for folder in sorted(folders):
        yield from walk_files(f"{prefix}/{folder}", storage)


def newest_modified(prefix: str, storage: Storage | None = None) -> datetime | None:
    """When the newest file under ``prefix`` was written; ``None`` if there is none."""
    storage = storage or media_storage()
    times = [storage.get_modified_time(name) for name in walk_files(prefix, storage)]
    return max(times) if times else None


def delete_tree(prefix: str, storage: Storage | None = None) -> None:
    """Delete the folder ``prefix`` and everything under it; missing is fine.

    On a local folder this is ``shutil.rmtree`` (it never follows symlinks); on a
    bucket every object under the prefix is deleted.
    """
    storage = storage or media_storage()
    root = local_root(storage)
    if root is not None:
        shutil.rmtree(storage.path(prefix), ignore_errors=True)
        return
    for name in list(walk_files(prefix, storage)):
        storage.delete(name)
