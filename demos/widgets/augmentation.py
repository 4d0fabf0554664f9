"""Widget ``augmentation`` (lesson 9): a grid of augmented copies of a photo (PNG views
and the JSON plan)."""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

import numpy as np
from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.imaging import decode_image, encode_png
from demos.common.limits import image_limits, own_image_slot
from demos.common.samples import UnknownSample, all_samples, get_sample, sample_bytes
from demos.ml.augmentation import (
    MAX_TILES,
    TilePlan,
    augmentation_grid,
    augmentation_plan,
    draw_digit,
    grid_size,
    tile_box,
)
from demos.widgets.architectures import OP_LABELS
from demos.widgets.kit import DEFAULT_WIDGET_SAMPLE, gettext_label
from portal.lib.api import (
    BoundedIntegerField,
    UploadRateThrottle,
    validated,
)
from portal.lib.errors import BadInput, TryLater
from portal.lib.forms import BoundedIntegerField as BoundedIntegerFormField

DIGIT_SAMPLE = "digit-6"


DEFAULT_TILES = 8


TILE_SIZE = 160


COLUMNS = 4


MAX_SEED = 2**31 - 1


WHY_WRONG_FOR_DIGITS = {
    "hflip": gettext_lazy(
        "A mirrored 2, 3, 4, 7 or 9 is no digit at all: the model learns shapes "
        "that never occur."
    ),
    "vflip": gettext_lazy(
        "A vertical flip mirrors a digit top to bottom: a 6 does not become a 9 "
        "(only a 180° rotation does that), it becomes a shape nobody writes."
    ),
    "rotate-large": gettext_lazy(
        "Rotated far, a 6 drifts towards a 9 and a 9 towards a 6; keep digit "
        "rotations within about ±15°."
    ),
}


def plan_payload(plans: tuple[TilePlan, ...], *, seed: int) -> dict:
    """Tile labels (translated) and positions for a grid of ``plans``."""
    columns = min(COLUMNS, len(plans))
    width, height = grid_size(len(plans), columns=COLUMNS, tile_size=TILE_SIZE)
    tiles = []
    for plan in plans:
        ops = [
            {
                "key": op.key,
                "label": gettext_label(OP_LABELS, op.key),
                "detail": op.detail,
                "wrong_for_digits": op.wrong_for_digits,
                "why": gettext_label(WHY_WRONG_FOR_DIGITS, op.key)
                if op.wrong_for_digits
                else "",
            }
            for op in plan.ops
        ]
        tiles.append(
            {
                "index": plan.index,
                "box": list(tile_box(plan.index, columns=columns, tile_size=TILE_SIZE)),
                "wrong_for_digits": plan.wrong_for_digits,
                "ops": ops,
            }
        )
    return {
        "seed": seed,
        "count": len(plans),
        "columns": columns,
        "tile_size": TILE_SIZE,
        "width": width,
        "height": height,
        "tiles": tiles,
    }


def augmentation_plan_payload(*, seed: int, count: int) -> dict:
    """What each of ``count`` tiles drawn from ``seed`` gets, without any image."""
    plans = augmentation_plan(count=count, seed=seed, tile_size=TILE_SIZE)
    return plan_payload(plans, seed=seed)


def samples_payload() -> dict:
    """The catalogue's photos (static URLs), the digit and the tile limits."""
    samples = [
        {"key": sample.key, "label": str(sample.title), "url": sample.url}
        for sample in all_samples()
    ]
    samples.append(
        {"key": DIGIT_SAMPLE, "label": _("Handwritten-style digit 6"), "url": ""}
    )
    return {"samples": samples, "max_count": MAX_TILES, "default_count": DEFAULT_TILES}


def _sample_rgb(key: str) -> np.ndarray:
    if key == DIGIT_SAMPLE:
        return draw_digit("6", size=TILE_SIZE)
    return decode_image(sample_bytes(key), image_limits()).rgb


def sample_key(name: str) -> str:
    """The catalogue key of a sample name (an old file stem too), or the digit;
    ``UnknownSample`` (a ``BadInput``) otherwise."""
    return name if name == DIGIT_SAMPLE else get_sample(name).key


@lru_cache(maxsize=32)
def sample_grid_png(sample: str, seed: int, count: int) -> bytes:
    """PNG grid for a shipped sample; samples are public, so cache per process."""
    grid = augmentation_grid(
        _sample_rgb(sample), count=count, seed=seed, tile_size=TILE_SIZE
    )
    return encode_png(grid.image)


def augment_png(*, sample: str, image: Any, seed: int, count: int) -> bytes:
    """The grid PNG for an uploaded file (preferred when given) or a sample name."""
    if image is None:
        return sample_grid_png(sample_key(sample), seed, count)
    limit = settings.MAX_UPLOAD_BYTES
    if image.size > limit:
        # Refuse before reading a huge body into memory.
        raise BadInput(
            _("The file is %(size).1f MB; the limit is %(limit).1f MB.")
            % {"size": image.size / 2**20, "limit": limit / 2**20}
        )
    rgb = decode_image(image.read(), image_limits()).rgb
    grid = augmentation_grid(rgb, count=count, seed=seed, tile_size=TILE_SIZE)
    return encode_png(grid.image)


class PlanSerializer(serializers.Serializer):
    seed = serializers.IntegerField()
    count = serializers.IntegerField()
    columns = serializers.IntegerField()
    tile_size = serializers.IntegerField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    tiles = serializers.JSONField()


class AugmentationSampleListApi(APIView):
    """The photos the augmentation widget offers, the digit, and the tile limits."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        samples = serializers.JSONField()
        max_count = serializers.IntegerField()
        default_count = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(samples_payload()).data)


class AugmentationPlanApi(APIView):
    """``?seed=&count=`` → what each tile gets (labels depend on nothing else)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        seed = BoundedIntegerField(required=False, min_value=0, max_value=MAX_SEED)
        count = BoundedIntegerField(required=False, min_value=1, max_value=MAX_TILES)

    class OutputSerializer(PlanSerializer):
        pass

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.query_params))
        payload = augmentation_plan_payload(
            seed=data.get("seed", 0), count=data.get("count", DEFAULT_TILES)
        )
        return Response(self.OutputSerializer(payload).data)


class AugmentationCreateApi(APIView):
    """Multipart ``image`` (or ``sample``), ``seed``, ``count`` → grid PNG + labels."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        sample = serializers.CharField(required=False, max_length=64)
        image = serializers.FileField(required=False)
        seed = BoundedIntegerField(required=False, min_value=0, max_value=MAX_SEED)
        count = BoundedIntegerField(required=False, min_value=1, max_value=MAX_TILES)

    class OutputSerializer(PlanSerializer):
        grid_png = serializers.CharField(help_text="data:image/png;base64,...")

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        if not data.get("image") and not data.get("sample"):
            raise BadInput(_("Choose a sample or upload a photo."))
        seed, count = data.get("seed", 0), data.get("count", DEFAULT_TILES)
        with own_image_slot(request.user, has_upload=bool(data.get("image"))):
            png = augment_png(
                sample=data.get("sample", ""),
                image=data.get("image"),
                seed=seed,
                count=count,
            )
        payload = augmentation_plan_payload(seed=seed, count=count)
        payload["grid_png"] = "data:image/png;base64," + base64.b64encode(png).decode()
        return Response(self.OutputSerializer(payload).data)


class AugmentForm(forms.Form):
    """A sample name or an uploaded photo, a seed and a tile count."""

    sample = forms.CharField(required=False, max_length=64)
    image = forms.FileField(required=False)
    seed = BoundedIntegerFormField(required=False, min_value=0, max_value=MAX_SEED)
    count = BoundedIntegerFormField(required=False, min_value=1, max_value=MAX_TILES)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("image") and not data.get("sample"):
            raise forms.ValidationError(_("Choose a sample or upload a photo."))
        data["seed"] = 0 if data.get("seed") is None else data["seed"]
        data["count"] = data.get("count") or DEFAULT_TILES
        return data


def _form_error(form: forms.Form) -> str:
    field, errors = next(iter(form.errors.items()))
    label = "" if field == "__all__" else f"{field}: "
    return f"{label}{errors[0]}"


def _png_response(png: bytes, *, public: bool) -> HttpResponse:
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600" if public else "private"
    return response


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@require_GET
def augment_sample_png(request: HttpRequest, sample: str) -> HttpResponse:
    form = AugmentForm({"sample": sample, **request.GET.dict()})
    if not form.is_valid():
        return _json_error(_form_error(form))
    try:
        key = sample_key(sample)
    except UnknownSample as exc:
        raise Http404(_("Unknown sample image.")) from exc
    data = form.cleaned_data
    return _png_response(sample_grid_png(key, data["seed"], data["count"]), public=True)


@require_POST
def augment(request: HttpRequest) -> HttpResponse:
    """POST a sample name or a photo (+ seed, count) → the grid as a PNG."""
    form = AugmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _json_error(_form_error(form))
    if form.cleaned_data.get("image") and not request.user.is_authenticated:
        return _json_error(
            _("Log in to augment your own photo; the samples work without an account."),
            status=403,
        )
    data = form.cleaned_data
    try:
        with own_image_slot(request.user, has_upload=bool(data.get("image"))):
            png = augment_png(
                sample=data["sample"],
                image=data.get("image"),
                seed=data["seed"],
                count=data["count"],
            )
    except BadInput as exc:
        return _json_error(str(exc))
    except TryLater as exc:  # the student's previous photo is still being processed
        response = _json_error(str(exc), status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return _png_response(png, public=False)


def augmentation_context(request: HttpRequest) -> dict[str, Any]:
    # Rendered here, not filled in by the script later: the select shows the photo
    # the grid is made of from the first paint on.
    return {
        "samples": samples_payload()["samples"],
        "sample_default": DEFAULT_WIDGET_SAMPLE,
    }


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls = [
    path("arch/augment/", augment, name="arch-augment"),
    path(
        "arch/augment/<slug:sample>.png", augment_sample_png, name="arch-augment-sample"
    ),
]
api_urls = [
    path("augmentations/", AugmentationCreateApi.as_view(), name="arch-augment"),
    path(
        "augmentations/samples/",
        AugmentationSampleListApi.as_view(),
        name="arch-augment-samples",
    ),
    path(
        "augmentations/plan/", AugmentationPlanApi.as_view(), name="arch-augment-plan"
    ),
]
