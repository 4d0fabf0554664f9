"""Upload limits from settings, as the pure imaging module's ``ImageLimits``.

The one place the four size settings become an ``ImageLimits``: the person demo, the
CNN lessons and the augmentation widget all decode uploads through it.
"""

from __future__ import annotations

from django.conf import settings

from demos.common.imaging import ImageLimits


def image_limits() -> ImageLimits:
    """Byte, pixel and side limits of every uploaded or drawn image."""
    return ImageLimits(
        max_bytes=settings.MAX_UPLOAD_BYTES,
        max_pixels=settings.MAX_IMAGE_PIXELS,
        max_side=settings.MAX_IMAGE_SIDE,
        min_side=settings.MIN_IMAGE_SIDE,
    )
