"""The model store: which models are on disk and verified, and how to fix the rest.

Files live flat in ``settings.MODELS_DIR`` (read at call time, never at import) under
their registry file name. A file is *ready* only when its SHA-256 matches the registry;
hashing a 160 MB file takes about a second, so digests are cached in-process by
``(path, size, mtime)`` and a replaced file is re-hashed automatically.

Bundled models (``spec.bundled``: committed with the code, like the digits CNN) are
checked where they are, against the SHA-256 in the JSON written next to them; they
are never imported or downloaded.

Writes (import, pull) go through ``<file>.partial`` + ``os.replace`` so a reader never
sees half a file, and each successful one records a ``ModelFile`` row (``record=True``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from django.conf import settings
from django.utils.translation import gettext as _

from models_store import download
from models_store.download import ChecksumMismatch, WeightsUnavailable
from models_store.registry import (
    FALLBACK_DETECTOR,
    PREFERRED_DETECTORS,
    REPO_DIR,
    ModelSpec,
    get_spec,
    specs,
)

State = Literal["ready", "missing", "corrupt", "builtin"]

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


@dataclass(frozen=True)
class ModelState:
    """A model's state here, the reason in words, and the command that fixes it."""

    spec: ModelSpec
    state: State
    path: Path | None
    size: int | None
    reason: str
    fix: str

    @property
    def is_available(self) -> bool:
        return self.state in ("ready", "builtin")

    @property
    def key(self) -> str:
        return self.spec.key


def models_dir() -> Path:
    return Path(settings.MODELS_DIR)


def pull_command(key: str) -> str:
    return f"python manage.py models pull {key}"


IMPORT_COMMAND = "python manage.py models import FOLDER"


def clear_digest_cache() -> None:
    """Forget cached digests so the next check re-hashes (``models verify``)."""
    with _digests_lock:
        _digests.clear()


def _digest(path: Path, stat: os.stat_result) -> str:
    cache_key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _digests_lock:
        cached = _digests.get(cache_key)
    if cached is None:
        cached = download.sha256_of(path)
        with _digests_lock:
            _digests[cache_key] = cached
    return cached


def model_state(key: str) -> ModelState:
    """Check one model on disk; raises ``UnknownModel`` for an unregistered key."""
    spec = get_spec(key)
    if spec.is_fusion:
        return _fusion_state(spec)
    if spec.is_builtin:
        return ModelState(
            spec,
            "builtin",
            None,
            None,
            _("Built into OpenCV; nothing to download."),
            "",
        )
    if spec.is_bundled:
        return _bundled_state(spec)
    path = models_dir() / spec.filename
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ModelState(
            spec,
            "missing",
            path,
            None,
            _(
                "%(file)s is not in the model store. Offline servers: copy it into a "
                "folder and run `%(import)s`."
            )
            % {"file": spec.filename, "import": IMPORT_COMMAND},
            pull_command(key),
        )
    if spec.size_bytes is not None and stat.st_size != spec.size_bytes:
        return _corrupt(
            spec,
            path,
            stat.st_size,
            _("%(file)s has %(size)s bytes, expected %(expected)s.")
            % {
                "file": spec.filename,
                "size": stat.st_size,
                "expected": spec.size_bytes,
            },
        )
    digest = _digest(path, stat)
    if not spec.matches_sha256(digest):
        return _corrupt(
            spec,
            path,
            stat.st_size,
            _("%(file)s has the wrong SHA-256 (%(digest)s…).")
            % {"file": spec.filename, "digest": digest[:12]},
        )
    return ModelState(spec, "ready", path, stat.st_size, _("Verified."), "")


def _fusion_state(spec: ModelSpec) -> ModelState:
    """A detector made of others: ready when every part is; else what each lacks."""
    parts = [model_state(part) for part in spec.parts]
    missing = [part for part in parts if not part.is_available]
    if not missing:
        return ModelState(
            spec,
            "ready",
            None,
            None,
            _("Every part is ready: %(parts)s.")
            % {"parts": ", ".join(part.spec.name for part in parts)},
            "",
        )
    return ModelState(
        spec,
        "missing",
        None,
        None,
        _("Needs %(parts)s.") % {"parts": ", ".join(p.spec.name for p in missing)}
        + " "
        + " ".join(part.reason for part in missing),
        " && ".join(part.fix for part in missing if part.fix),
    )


def _recorded_sha256(spec: ModelSpec) -> str | None:
    sidecar = spec.sha256_sidecar
    if not sidecar:
        return None
    try:
        return json.loads((REPO_DIR / sidecar).read_text(encoding="utf-8")).get(
            "sha256"
        )
    except (FileNotFoundError, ValueError):
        return None


def _bundled_state(spec: ModelSpec) -> ModelState:
    """A file committed with the code: ready when present and matching its JSON."""
    path = spec.bundled_path
    assert path is not None
    fix = spec.fix_command
    try:
        stat = path.stat()
    except FileNotFoundError:
        return ModelState(
            spec,
            "missing",
            path,
            None,
            _("%(file)s is missing from the code checkout.") % {"file": path.name},
            fix,
        )
    expected = _recorded_sha256(spec) or spec.sha256
    if expected:
        digest = _digest(path, stat)
        if digest != expected.lower():
            return ModelState(
                spec,
                "corrupt",
                path,
                stat.st_size,
                _("%(file)s does not match its recorded SHA-256 (%(digest)s…).")
                % {"file": path.name, "digest": digest[:12]},
                fix,
            )
    where = _("Installed with its Python package.") if spec.packaged else None
    return ModelState(
        spec, "ready", path, stat.st_size, where or _("Committed with the code."), ""
    )


def _corrupt(spec: ModelSpec, path: Path, size: int, why: str) -> ModelState:
    return ModelState(
        spec,
        "corrupt",
        path,
        size,
        why + " " + _("Download it again to replace it."),
        pull_command(spec.key),
    )


def all_states(task: str | None = None) -> list[ModelState]:
    """State of every registered model (of one task), in registry order."""
    return [model_state(spec.key) for spec in specs(task)]


def default_person_detector() -> str:
    """The detector the portal serves: ``PERSON_DETECTOR`` if set, else the first of
    ``PREFERRED_DETECTORS`` (the fused detector, then YOLOX-Nano) whose files are all
    ready, else OpenCV's HOG, the fallback that needs no file."""
    configured = getattr(settings, "PERSON_DETECTOR", "")
    if configured:
        return configured
    for key in PREFERRED_DETECTORS:
        if model_state(key).state == "ready":
            return key
    return FALLBACK_DETECTOR


def is_serving_fallback() -> bool:
    """True when the portal detects people with the HOG fallback (no file ready)."""
    return default_person_detector() == FALLBACK_DETECTOR


def ready_path(key: str) -> Path:
    """Path of a verified file; raises ``WeightsUnavailable`` with reason and fix."""
    state = model_state(key)
    if state.state == "ready" and state.path is not None:
        return state.path
    if state.state == "builtin":
        raise WeightsUnavailable(
            _("%(name)s has no file: it is built in.") % {"name": state.spec.name}
        )
    if state.spec.is_bundled:
        raise WeightsUnavailable(
            _("%(name)s is unavailable: %(reason)s Fix: `%(fix)s`.")
            % {"name": state.spec.name, "reason": state.reason, "fix": state.fix}
        )
    raise WeightsUnavailable(
        _("%(name)s is unavailable: %(reason)s Fix: `%(fix)s` (downloads %(url)s).")
        % {
            "name": state.spec.name,
            "reason": state.reason,
            "fix": state.fix,
            "url": state.spec.url,
        }
    )


def _record(spec: ModelSpec, digest: str, size: int, source: str) -> None:
    from models_store.models import ModelFile  # app registry must be ready

    ModelFile.objects.update_or_create(
        key=spec.key,
        defaults={
            "filename": spec.filename or "",
            "sha256": digest,
            "size": size,
            "source": source,
        },
    )


def _copy_verified(source: Path, dest: Path, spec: ModelSpec) -> str:
    """Copy to ``dest.partial``, hash while copying, ``os.replace`` only on a match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as src, open(partial, "wb") as out:
            while chunk := src.read(download.CHUNK_BYTES):
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if not spec.matches_sha256(actual):
            raise ChecksumMismatch(
                f"{source} changed while it was copied (SHA-256 {actual}); "
                "not imported."
            )
        shutil.copystat(source, partial)
        os.chmod(partial, 0o644)  # sources may be read-only; the store must not be
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return actual


def _candidate_specs() -> tuple[dict[int, list[ModelSpec]], dict[str, ModelSpec]]:
    by_size: dict[int, list[ModelSpec]] = {}
    by_name: dict[str, ModelSpec] = {}
    for spec in specs():
        if not spec.is_downloadable:
            continue
        if spec.size_bytes is not None:
            by_size.setdefault(spec.size_bytes, []).append(spec)
        by_name[spec.filename] = spec
    return by_size, by_name


def import_path(
    path: Path,
    *,
    record: bool = True,
    on_skip: Callable[[Path, str], None] | None = None,
) -> list[ModelSpec]:
    """Import model files from a file or a folder (recursively) into ``MODELS_DIR``.

    Files are recognised by SHA-256, whatever their name: a file is hashed only if
    its size is one the registry expects, its name is a registry file name, or it
    has a weights suffix (``.onnx``, ``.pth``, ``.pt``). Unknown files (licences,
    class lists) are skipped and reported through ``on_skip(path, why)``. Files
    already in the store with the right hash are not copied again. Returns the
    specs now ready. A file carrying a registry file name but the wrong hash is
    refused: after the other files are imported, ``ChecksumMismatch`` names it.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root} does not exist")
    files = (
        [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    )
    by_size, by_name = _candidate_specs()
    imported: list[ModelSpec] = []
    refused: list[str] = []
    skip = on_skip or (lambda _path, _why: None)
    for file in files:
        size = file.stat().st_size
        named = by_name.get(file.name)
        if not (
            size in by_size or named or file.suffix.lower() in (".onnx", ".pth", ".pt")
        ):
            skip(file, "not a model file")
            continue
        digest = download.sha256_of(file)
        spec = next(
            (s for s in specs() if s.is_downloadable and s.matches_sha256(digest)),
            None,
        )
        if spec is None:
            if named is not None:
                refused.append(
                    f"{file} has the name of {named.key} but SHA-256 {digest}, "
                    f"expected {named.sha256}"
                )
            else:
                skip(file, "SHA-256 matches no registered model")
            continue
        dest = models_dir() / spec.filename
        if model_state(spec.key).state != "ready":
            _copy_verified(file, dest, spec)
        if record:
            _record(spec, digest, size, "import")
        if spec not in imported:
            imported.append(spec)
    if refused:
        error = ChecksumMismatch("Refused: " + "; ".join(refused) + ".")
        error.imported = imported  # type: ignore[attr-defined]
        raise error
    return imported


def pull(
    key: str,
    progress: download.Progress | None = None,
    *,
    timeout: float = 30,
    record: bool = True,
) -> Path | None:
    """Download one model into the store unless it is already ready.

    Returns the file's path (``None`` for a built-in model that has no file).
    Raises ``WeightsUnavailable`` without network and ``ChecksumMismatch`` for a
    wrong file; neither leaves anything in the store.
    """
    state = model_state(key)
    spec = state.spec
    if spec.is_fusion:
        # No file of its own: fetch each part that is not ready yet.
        for part in spec.parts:
            pull(part, progress, timeout=timeout, record=record)
        return None
    if state.state == "builtin":
        return None
    if state.state == "ready" and state.path is not None:
        return state.path
    if spec.is_bundled:
        raise WeightsUnavailable(
            f"{spec.name} is committed with the code: {state.reason} "
            f"Fix: `{state.fix}`."
        )
    if not spec.url or not spec.sha256:
        raise WeightsUnavailable(f"{spec.name} has no download URL; import it instead.")
    dest = models_dir() / spec.filename
    download.download_file(
        spec.url,
        dest,
        sha256=spec.sha256,
        sha256_is_prefix=spec.sha256_is_prefix,
        progress=progress,
        timeout=timeout,
    )
    if record:
        stat = dest.stat()
        _record(spec, _digest(dest, stat), stat.st_size, "download")
    return dest


def verify_all() -> list[ModelState]:
    """Re-hash every file (ignoring the cache) and return every model's state."""
    clear_digest_cache()
    return all_states()
