"""Verified, atomic downloads of model files (like ``torch.hub.download_url_to_file``).

Pure module: standard library only (``urllib``), never ``django``. Bytes stream into
``<dest>.partial`` while SHA-256 is computed; the file is moved into place with
``os.replace`` only when the digest matches, and the partial file is always removed.
Called from the ``models`` management command or an explicit admin action, never at
import time or inside a user's request.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from portal.lib.errors import ServiceUnavailable

CHUNK_BYTES = 1024 * 1024
USER_AGENT = "dl-teaching-portal/1.0 (+models_store)"

Progress = Callable[[int, "int | None"], None]


class WeightsUnavailable(ServiceUnavailable):
    """A model file is not in the store and could not be downloaded."""


class ChecksumMismatch(ServiceUnavailable):
    """A file's SHA-256 is not the one the registry records; it was not installed."""


def sha256_of(path: Path) -> str:
    """Full lowercase hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def digest_matches(digest: str, expected: str, *, is_prefix: bool = False) -> bool:
    """Compare hex digests; ``is_prefix``: ``expected`` is a leading part only."""
    digest, expected = digest.lower(), expected.lower()
    return digest.startswith(expected) if is_prefix else digest == expected


def download_file(
    url: str,
    dest: Path,
    *,
    sha256: str,
    sha256_is_prefix: bool = False,
    progress: Progress | None = None,
    timeout: float = 30,
) -> Path:
    """Download ``url`` to ``dest`` if, and only if, its SHA-256 matches ``sha256``.

    ``progress(bytes_done, bytes_total_or_None)`` is called after every chunk.
    ``timeout`` (seconds) bounds the connection and each read. Raises
    ``WeightsUnavailable`` when the server cannot be reached or answers with an
    error, and ``ChecksumMismatch`` when the bytes differ; in both cases no file is
    left at ``dest`` or ``dest.partial``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with (
            urllib.request.urlopen(request, timeout=timeout) as response,
            open(partial, "wb") as out,
        ):
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(0, total)
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        actual = digest.hexdigest()
        if not digest_matches(actual, sha256, is_prefix=sha256_is_prefix):
            raise ChecksumMismatch(
                f"{dest.name} downloaded from {url} has SHA-256 {actual}, expected "
                f"{sha256}{'…' if sha256_is_prefix else ''}; the file was discarded."
            )
        os.replace(partial, dest)
    except (
        urllib.error.URLError,
        TimeoutError,
        ConnectionError,
        http.client.HTTPException,
    ) as exc:
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        else:
            reason = str(getattr(exc, "reason", None) or exc)
        raise WeightsUnavailable(
            f"Could not download {dest.name} from {url} ({reason}). "
            f"On a server without internet copy the file into a folder and run "
            f"`python manage.py models import FOLDER`."
        ) from exc
    finally:
        # Success moved it away; any failure leaves nothing half-written behind.
        partial.unlink(missing_ok=True)
    return dest
