"""Writes of the person demo: create, compare and delete runs; cleanup.

A run is saved all or nothing: its files are written first, then its rows in one
``transaction.atomic()``; if anything fails after the first file was written, the
run's folder is removed again, so there are no half-saved rows and no orphan
files. Files live in the media storage (``demos/common/media.py``: ``MEDIA_ROOT`` or an
S3-compatible bucket) under ``runs/<owner id>/<public id>/`` with names the
server makes (never the uploaded name) and are always re-encoded JPEGs without
EXIF: trailing bytes of polyglot uploads and GPS tags never reach the disk.

An upload stores two files only, the photo and its thumbnail: the photo is decoded
once, the detector runs, the rows are written. Everything else is derived from the
stored photo when asked for (a run never changes, so browsers may keep it): each
person's crop, the crops ZIP (streamed) and the annotated JPEG. The boxes are drawn
by the browser over the photo (``demos/people/derived.py`` cuts and draws the rest).
Runs stored before this (with ``crops/<rank>.jpg``
and ``annotated.jpg`` beside the photo) are served the same way; their old files
are left alone until the run is deleted.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path, PurePosixPath

import numpy as np
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from demos.common import media, sweeper
from demos.common.imaging import (
    DecodedImage,
    ImageTooLarge,
    decode_image,
    encode_jpeg,
    make_thumbnail,
)
from demos.common.limits import check_free_disk, image_limits
from demos.ml.detection import warmup
from demos.ml.detection.boxes import PersonBox
from demos.ml.detection.counting import count_range
from demos.ml.detection.detectors import default_detector_key, get_detector
from demos.models import DemoRun, Detection
from demos.people import derived
from demos.people.selectors import (
    RUNS_DIR,
    read_run_file,
)
from models_store.registry import PERSON_DETECTION, REGISTRY
from portal.lib.errors import BadInput

logger = logging.getLogger(__name__)

IMAGE_NAME = "image.jpg"
THUMBNAIL_NAME = "thumb.jpg"
THUMBNAIL_SIDE = 320
# Stored photos (issue 21: a 1 MB PNG became a 15 MB JPEG at quality 95, full
# size). Every detector reads at most 640 px, and a person in a class photo stays
# sharp in a 2048 px one; at quality 85 JPEG artefacts are not visible in photos
# and files are about half as large as at 95.
PHOTO_MAX_SIDE = 2048
PHOTO_QUALITY = 85
# A photo stored larger than its upload (or 1 MB) is encoded again at these.
FALLBACK_QUALITIES = (75, 60)
PHOTO_BYTES_FLOOR = 2**20
ORIGINAL_NAME_MAX = 120
ORPHAN_GRACE_SECONDS = 3600


class UnknownDetector(BadInput):
    """The requested detector key is not in the registry."""


class InvalidThreshold(BadInput):
    """A score threshold outside 0–1."""


@dataclass
class UploadOutcome:
    """Result of a multi-photo upload: the runs made and, per bad file, why not."""

    runs: list[DemoRun] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)


def resolve_detector_key(detector_key: str | None) -> str:
    """The key to use: the given one if registered, else the portal's default."""
    if not detector_key:
        return default_detector_key()
    known = {key for key, spec in REGISTRY.items() if spec.task == PERSON_DETECTION}
    if detector_key not in known:
        raise UnknownDetector(
            _("Unknown detector %(key)s; choose one of: %(known)s.")
            % {"key": repr(detector_key), "known": ", ".join(sorted(known))}
        )
    return detector_key


def resolve_threshold(detector_key: str, score_threshold: float | None) -> float:
    """The user's threshold, or the detector's own default (HOG scores differ)."""
    if score_threshold is None:
        spec = REGISTRY.get(detector_key)
        return spec.default_threshold if spec else settings.DEFAULT_SCORE_THRESHOLD
    if not 0.0 <= score_threshold <= 1.0:
        raise InvalidThreshold(_("The score threshold must be between 0 and 1."))
    return float(score_threshold)


def detect_persons(
    *, image: DecodedImage, detector_key: str
) -> tuple[list[PersonBox], float]:
    """Every person down to the floor score, left to right, and the detector's ms.

    Raises ``DetectorUnavailable`` (→ 503) when the detector cannot be loaded.
    """
    detector = get_detector(detector_key)
    started = time.perf_counter()
    boxes = detector.detect(image.rgb, settings.DETECTION_FLOOR_SCORE)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    warmup.note_detection(detector_key)
    return sorted(boxes, key=lambda b: (b.x1, b.y1)), elapsed_ms


@dataclass(frozen=True)
class RunFiles:
    """The two files an upload stores: the re-encoded photo and its thumbnail."""

    photo: bytes
    thumbnail: bytes


def encode_photo(rgb: np.ndarray, budget: int | None = None) -> bytes:
    """The photo as a JPEG at ``PHOTO_QUALITY``, or at a lower quality where that
    passes ``budget`` bytes (fine detail such as screenshots and patterns, which a
    small PNG holds but JPEG does not)."""
    photo = encode_jpeg(rgb, quality=PHOTO_QUALITY)
    for quality in FALLBACK_QUALITIES:
        if budget is None or len(photo) <= budget:
            break
        photo = encode_jpeg(rgb, quality=quality)
    return photo


def encode_run_files(rgb: np.ndarray, budget: int | None = None) -> RunFiles:
    """JPEGs without EXIF: the photo (see ``encode_photo``) and its thumbnail."""
    return RunFiles(
        encode_photo(rgb, budget),
        encode_jpeg(make_thumbnail(rgb, THUMBNAIL_SIDE), quality=85),
    )


# JPEG encoding releases the GIL, like onnxruntime: an upload's two files are
# encoded on another core while its detector runs (the upload's latency, not its
# CPU time, is what a student waits for).
_encoder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="encode-run-files")


def _write(path: PurePosixPath, data: bytes) -> None:
    """Store one file of a run (a seam the fault-injection tests replace)."""
    media.save_bytes(path.as_posix(), data)


def _store_run(
    *,
    owner: AbstractBaseUser,
    image: DecodedImage,
    original_name: str,
    detector_key: str,
    score_threshold: float,
    boxes: list[PersonBox],
    elapsed_ms: float,
    compared_with: DemoRun | None = None,
    on_saved: Callable[[DemoRun], None] | None = None,
    files: RunFiles | None = None,
) -> DemoRun:
    run = DemoRun(
        public_id=uuid.uuid4(),
        owner=owner,
        detector=detector_key,
        score_threshold=score_threshold,
        original_name=original_name[:ORIGINAL_NAME_MAX],
        image_sha256=image.sha256,
        image_width=image.width,
        image_height=image.height,
        elapsed_ms=round(elapsed_ms, 3),
        compared_with=compared_with,
    )
    unsure: set[int] = set()
    spec = REGISTRY.get(detector_key)
    if spec is not None and spec.doubt_range is not None:
        doubt = count_range(boxes, *spec.doubt_range)
        run.count_low, run.count_high = doubt.low, doubt.high
        unsure = {id(box) for box in doubt.unsure}
    run.image_path = f"{run.folder}/{IMAGE_NAME}"
    run.thumbnail_path = f"{run.folder}/{THUMBNAIL_NAME}"
    detections = [
        Detection(
            run=run,
            rank=rank,
            x1=box.x1,
            y1=box.y1,
            x2=box.x2,
            y2=box.y2,
            score=round(float(box.score), 4),
            is_unsure=id(box) in unsure,
        )
        for rank, box in enumerate(boxes, start=1)
    ]
    if files is None:
        files = encode_run_files(image.rgb)
    run.stored_bytes = len(files.photo) + len(files.thumbnail)
    try:
        _write(PurePosixPath(run.image_path), files.photo)
        _write(PurePosixPath(run.thumbnail_path), files.thumbnail)
        with transaction.atomic():
            run.full_clean()
            run.save()
            for detection in detections:
                detection.run = run
                # Ranks are unique and boxes non-empty by construction (and the
                # table's constraints still check both): skip the per-row queries
                # that validating them would cost, about 30 rows for FastestDet.
                detection.full_clean(validate_unique=False, validate_constraints=False)
            Detection.objects.bulk_create(detections)
            if on_saved is not None:
                # Same transaction as the rows (the jobs service links its job here).
                on_saved(run)
    except BaseException:
        # Files first, rows second: undo the files whatever went wrong.
        media.delete_tree(run.folder)
        raise
    return run


class StorageQuotaExceeded(BadInput):
    """The student's stored photos would pass ``STORAGE_QUOTA_BYTES``."""


def check_storage_quota(owner: AbstractBaseUser, adding: int = 0) -> None:
    """``StorageQuotaExceeded`` (→ 400, by file) if ``adding`` more bytes would take
    ``owner``'s stored photos past their quota."""
    runs = DemoRun.objects.filter(owner=owner)
    used = runs.aggregate(total=Sum("stored_bytes"))["total"] or 0
    quota = settings.STORAGE_QUOTA_BYTES
    if used + adding > quota or (adding == 0 and used >= quota):
        raise StorageQuotaExceeded(
            _(
                "Your photos already take %(used).1f MB of your %(quota).0f MB. "
                "Delete some runs on your history page to upload more."
            )
            % {"used": used / 2**20, "quota": quota / 2**20}
        )


def fit_for_storage(image: DecodedImage) -> DecodedImage:
    """The photo as it is analysed and stored: its long side at most
    ``PHOTO_MAX_SIDE`` (boxes and sizes are in these pixels)."""
    if max(image.width, image.height) <= PHOTO_MAX_SIDE:
        return image
    return replace(image, rgb=make_thumbnail(image.rgb, PHOTO_MAX_SIDE))


def create_demo_run(
    *,
    owner: AbstractBaseUser,
    data: bytes,
    original_name: str,
    detector_key: str | None,
    score_threshold: float | None,
    on_saved: Callable[[DemoRun], None] | None = None,
) -> DemoRun:
    """Decode a photo, find every person, store the run with its crops.

    Raises a ``BadInput`` subclass (→ 400 / form error) for unusable photos,
    unknown detectors or thresholds, ``DetectorUnavailable`` (→ 503) when the
    detector's file is missing or broken. Nothing is stored in either case.
    """
    key = resolve_detector_key(detector_key)
    threshold = resolve_threshold(key, score_threshold)
    check_free_disk()
    check_storage_quota(owner)
    image = fit_for_storage(decode_image(data, image_limits()))
    budget = max(len(data), PHOTO_BYTES_FLOOR)
    encoding = _encoder.submit(encode_run_files, image.rgb, budget)  # beside detection
    try:
        boxes, elapsed_ms = detect_persons(image=image, detector_key=key)
    finally:
        files = encoding.result()
    check_storage_quota(owner, adding=len(files.photo) + len(files.thumbnail))
    return _store_run(
        owner=owner,
        image=image,
        original_name=original_name,
        detector_key=key,
        score_threshold=threshold,
        boxes=boxes,
        elapsed_ms=elapsed_ms,
        on_saved=on_saved,
        files=files,
    )


def read_upload(upload: UploadedFile) -> bytes:
    """An uploaded file's bytes, refusing oversized ones before reading them."""
    if upload.size is not None and upload.size > settings.MAX_UPLOAD_BYTES:
        raise ImageTooLarge(
            _("The file is %(size).1f MB; the limit is %(limit).1f MB.")
            % {
                "size": upload.size / (1024 * 1024),
                "limit": settings.MAX_UPLOAD_BYTES / (1024 * 1024),
            }
        )
    upload.seek(0)
    return upload.read()


def create_demo_runs(
    *,
    owner: AbstractBaseUser,
    uploads: list[UploadedFile],
    detector_key: str | None,
    score_threshold: float | None,
) -> UploadOutcome:
    """One run per good photo; each bad one is reported by its name, not stored.

    A missing detector (``ServiceUnavailable``) stops the whole upload: it would
    fail every photo the same way.
    """
    outcome = UploadOutcome()
    for upload in uploads:
        name = upload.name or ""
        try:
            run = create_demo_run(
                owner=owner,
                data=read_upload(upload),
                original_name=name,
                detector_key=detector_key,
                score_threshold=score_threshold,
            )
        except BadInput as exc:
            outcome.failures.append((name, str(exc)))
        else:
            outcome.runs.append(run)
    return outcome


def compare_demo_run(*, run: DemoRun, detector_key: str) -> DemoRun:
    """Run the stored photo of ``run`` through another detector; a new run, linked.

    The new run belongs to the same owner and starts at the other detector's own
    default threshold (HOG's scores mean something else than a CNN's): the compare
    page gives each side its own slider.
    """
    key = resolve_detector_key(detector_key)
    data = read_run_file(run, run.image_path)
    # Same photo, same identity: keep the upload's hash, not the re-encoding's.
    image = replace(decode_image(data, image_limits()), sha256=run.image_sha256)
    boxes, elapsed_ms = detect_persons(image=image, detector_key=key)
    return _store_run(
        owner=run.owner,
        image=image,
        original_name=run.original_name,
        detector_key=key,
        score_threshold=resolve_threshold(key, None),
        boxes=boxes,
        elapsed_ms=elapsed_ms,
        compared_with=run,
    )


def find_people(
    *, data: bytes, detector_key: str | None, score_threshold: float | None
) -> derived.PhotoPeople:
    """Decode and detect like ``create_demo_run``, but store nothing."""
    key = resolve_detector_key(detector_key)
    threshold = resolve_threshold(key, score_threshold)
    image = decode_image(data, image_limits())
    boxes, elapsed_ms = detect_persons(image=image, detector_key=key)
    shown = [box for box in boxes if box.score >= threshold]
    return derived.PhotoPeople(image, key, threshold, shown, elapsed_ms)


MAX_TRUTH_BOXES = 500


class InvalidTruth(BadInput):
    """Corrected boxes that cannot be stored (outside the photo, empty, too many)."""


def set_run_truth(*, run: DemoRun, boxes: list[list[int]]) -> DemoRun:
    """Store the student's own boxes for ``run`` (its detections stay as they were).

    Each box is ``[x1, y1, x2, y2]`` in photo pixels with ``x1 < x2``, ``y1 < y2``,
    inside the photo. Raises ``InvalidTruth`` (→ 400) and stores nothing otherwise.
    """
    if len(boxes) > MAX_TRUTH_BOXES:
        raise InvalidTruth(
            _("At most %(n)d boxes can be stored.") % {"n": MAX_TRUTH_BOXES}
        )
    for number, box in enumerate(boxes, start=1):
        x1, y1, x2, y2 = box
        if not (0 <= x1 < x2 <= run.image_width and 0 <= y1 < y2 <= run.image_height):
            raise InvalidTruth(
                _("Box %(n)d is empty or outside the %(w)d x %(h)d photo: %(box)s.")
                % {"n": number, "w": run.image_width, "h": run.image_height, "box": box}
            )
    with transaction.atomic():
        run.truth_boxes = [[int(v) for v in box] for box in boxes]
        run.full_clean()
        run.save(update_fields=["truth_boxes"])
    return run


def delete_demo_run(*, run: DemoRun) -> None:
    """Delete the run's rows, then its folder (rows first: a row never lacks files)."""
    folder = run.folder
    derived.forget_stored_photo(run)
    with transaction.atomic():
        run.delete()
    media.delete_tree(folder)


def delete_expired_runs(*, older_than_days: int, dry_run: bool = False) -> list[str]:
    """Delete runs created more than ``older_than_days`` ago; their folders."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    expired = list(DemoRun.objects.filter(created__lt=cutoff).select_related("owner"))
    if not dry_run:
        for run in expired:
            delete_demo_run(run=run)
    return [run.folder for run in expired]


def _judge_run_folders(names: list[str]) -> dict[str, sweeper.Verdict]:
    """``<owner id>/<public id>`` folders of runs that have a row are live."""
    known = {
        f"{owner_id}/{public_id}"
        for owner_id, public_id in DemoRun.objects.values_list("owner_id", "public_id")
    }
    return {name: sweeper.Verdict.LIVE for name in names if name in known}


# A run being created right now has files but no row yet: leave recent ones.
RUN_FILES = sweeper.register(
    sweeper.Owner(
        key="runs",
        prefix=RUNS_DIR,
        judge=_judge_run_folders,
        grace_seconds=ORPHAN_GRACE_SECONDS,
        expire=delete_expired_runs,
        summary="{expired} expired run(s) and {removed} orphan path(s).",
    )
)


def remove_orphan_files(
    *, dry_run: bool = False, grace_seconds: int = ORPHAN_GRACE_SECONDS
) -> list[Path | str]:
    """Remove files and folders under ``runs/`` of the media storage that no run owns.

    A run folder is ``runs/<owner id>/<public id>``; anything else there (a
    folder of a deleted run, a stray file, a crash's leftovers) is an orphan.
    Entries younger than ``grace_seconds`` are kept. Returns the removed (or,
    with ``dry_run``, the would-be removed) paths: local paths for a folder
    storage, storage names for a bucket.
    """
    return sweeper.sweep_owner(RUN_FILES, dry_run=dry_run, grace_seconds=grace_seconds)
