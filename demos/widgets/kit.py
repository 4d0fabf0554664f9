"""Helpers every widget module shares: sample photos of the lessons, upload decoding and
shrinking, data URLs, file URLs and cache headers of widget answers."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from demos.common.imaging import decode_image, encode_png
from demos.common.limits import image_limits
from demos.common.samples import SAMPLES, all_samples, get_sample
from demos.people.selectors import get_demo_run_for_user, read_run_file
from portal.lib.errors import ServiceUnavailable


def read_upload(upload: Any) -> bytes:
    """At most one byte more than the cap: ``decode_image`` then refuses the rest."""
    return upload.read(settings.MAX_UPLOAD_BYTES + 1)


def file_url(request: Request, scope: str, digest: str, filename: str) -> str:
    return request.build_absolute_uri(
        reverse(
            "lessons:cnn-map-file",
            kwargs={"scope": scope, "digest": digest, "filename": filename},
        )
    )


def run_image_bytes(request: Request, public_id: Any) -> bytes:
    """The original photo of a person-demo run the user may see (else 404)."""
    run = get_demo_run_for_user(request.user, public_id)
    try:
        return read_run_file(run, run.image_path)  # a folder or a bucket
    except FileNotFoundError as exc:
        raise Http404("The run's photo is gone.") from exc


def public_for_an_hour(response: Response) -> Response:
    """The demos depend only on the committed models: caches may keep them."""
    patch_cache_control(response, public=True, max_age=3600)
    return response


def gettext_label(mapping: dict[Any, Any], key: Any) -> str:
    return str(mapping.get(key, key))


WIDGET_IMAGE_SIDE = 512  # uploads are shrunk to this before any widget maths


def load_sample_rgb(key: str) -> np.ndarray:
    """The sample photo as an ``H x W x 3`` uint8 RGB array (files are <= 512 px)."""
    sample = get_sample(key)
    path = finders.find(sample.static_path)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
    if image is None:
        raise ServiceUnavailable(
            _("The sample photo %(key)s is missing.") % {"key": key}
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def shrink(rgb: np.ndarray, side: int = WIDGET_IMAGE_SIDE) -> np.ndarray:
    """Scale down so the longest side is at most ``side`` (never up)."""
    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def decode_upload(data: bytes) -> np.ndarray:
    """Validate an uploaded photo (same limits as the person demo) and shrink it."""
    return shrink(decode_image(data, image_limits()).rgb)


def png_data_url(image: np.ndarray) -> str:
    rgb = image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    return "data:image/png;base64," + base64.b64encode(encode_png(rgb)).decode()


class SampleField(serializers.ChoiceField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(choices=list(SAMPLES), **kwargs)


# The photo the feature-map, activation and augmentation widgets open on.
DEFAULT_WIDGET_SAMPLE = "apollo-crew"


def lesson_samples(*, with_people: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "key": sample.key,
            "title": str(sample.title),
            "url": sample.url,
            "has_people": bool(sample.people),
        }
        for sample in all_samples(with_people=with_people)
    ]
