"""Upload limits from settings: ``ImageLimits``, and one upload in flight per user.

The one place the size settings become an ``ImageLimits``: the person demo, the
CNN lessons and the augmentation widget all decode uploads through it.
``upload_slot`` lets each student run one photo upload at a time (page and API),
so one student's flood cannot take every worker from the class.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _

from demos.common.imaging import ImageLimits
from portal.lib.counting import LockHeld, exclusive
from portal.lib.errors import TryLater


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
    except LockHeld:
        raise UploadInProgress(previous_upload_message(), retry_after=10) from None


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
