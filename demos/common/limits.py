"""Upload limits from settings: ``ImageLimits``, and one upload in flight per user.

The one place the size settings become an ``ImageLimits``: the person demo, the
CNN lessons and the augmentation widget all decode uploads through it.
``upload_slot`` lets each student run one photo upload at a time (page and API),
so one student's flood cannot take every worker from the class; ``check_free_disk``
refuses uploads (507) while the disk is below the minimum ``/healthz`` checks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _

from demos.common import media
from demos.common.imaging import ImageLimits
from portal.lib.counting import LockHeld, exclusive
from portal.lib.errors import InsufficientStorage, TryLater


class UploadInProgress(TryLater):
    """The student's previous upload is still being processed (→ 429)."""


def previous_upload_message() -> str:
    return _(
        "Your previous photos are still being processed. Wait until they are "
        "finished, then upload again."
    )


@contextmanager
def upload_slot(user: AbstractBaseUser) -> Iterator[None]:
    """Run the block as ``user``'s one upload in flight, else ``UploadInProgress``."""
    key = f"upload-in-flight:{user.pk}"
    try:
        with exclusive(key, settings.UPLOAD_LOCK_SECONDS):
            yield
    except LockHeld as held:
        # Usually the previous upload ends within seconds: ask again in 10 (or
        # when the lock expires, if sooner; a dead process's lock lasts at most
        # UPLOAD_LOCK_SECONDS, just over gunicorn's request timeout).
        left = held.args[1] if len(held.args) > 1 else 10
        raise UploadInProgress(
            previous_upload_message(), retry_after=min(10, left)
        ) from None


@contextmanager
def own_image_slot(user: object, *, has_upload: bool) -> Iterator[None]:
    """``upload_slot`` around a widget's work on a signed-in student's own image;
    nothing otherwise (samples are cached and cheap; anonymous uploads are
    throttled per address, which a whole class may share)."""
    if has_upload and getattr(user, "is_authenticated", False):
        with upload_slot(user):  # type: ignore[arg-type]
            yield
    else:
        yield


def image_limits() -> ImageLimits:
    """Byte, pixel and side limits of every uploaded or drawn image."""
    return ImageLimits(
        max_bytes=settings.MAX_UPLOAD_BYTES,
        max_pixels=settings.MAX_IMAGE_PIXELS,
        max_side=settings.MAX_IMAGE_SIDE,
        min_side=settings.MIN_IMAGE_SIDE,
        max_decode_bytes=settings.MAX_DECODE_BYTES,
        max_working_pixels=settings.MAX_WORKING_PIXELS,
    )


def check_free_disk() -> None:
    """``InsufficientStorage`` (→ 507) while the media disk has less free space than
    ``HEALTHZ_MIN_FREE_BYTES`` (when ``/healthz`` says "degraded"): an upload then
    would fill the disk the class's database and sessions live on."""
    root = media.local_root() or Path(settings.VAR_DIR)
    try:
        free = shutil.disk_usage(root).free
    except OSError:
        return  # a remote store (S3) or no folder yet: nothing of ours to fill
    if free < settings.HEALTHZ_MIN_FREE_BYTES:
        raise InsufficientStorage(
            _(
                "The server's disk is almost full, so uploads are paused. Please "
                "tell your instructor; your photos so far are safe."
            )
        )
