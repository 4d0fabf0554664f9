"""Endpoints behind lessons 7-9: architectures, transfer learning, augmentation.

Plain JSON/PNG views under ``/lessons/arch/`` feed the lesson widgets (readable by
anonymous visitors, like the lessons; only augmenting one's *own* photo needs a login)
and DRF views under ``/api/v1/`` expose the same data to API clients. All numbers come
from ``demos.architectures.profiles`` / ``demos.architectures.augmentation`` (computed once per process);
this module only parses input, translates labels and serialises.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from django import forms
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.architectures.augmentation import (
    MAX_TILES,
    TilePlan,
    augmentation_grid,
    augmentation_plan,
    draw_digit,
    grid_size,
    tile_box,
)
from demos.architectures.profiles import (
    TRANSFER_CASES,
    TRANSFER_NUM_CLASSES,
    TRANSFER_STRATEGIES,
    UnknownArchitecture,
    all_architecture_summaries,
    architecture_summary,
    compare_residual_blocks,
    transfer_learning_counts,
)
from demos.common.imaging import ImageLimits, decode_image, encode_png
from portal.api import UploadRateThrottle
from portal.errors import BadInput

DIGIT_SAMPLE = "digit-6"
DEFAULT_TILES = 8
TILE_SIZE = 160
COLUMNS = 4
MAX_SEED = 2**31 - 1
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")

MODEL_NOTES = {
    "lenet5": gettext_lazy(
        "Two 5×5 convolutions with average pooling and tanh read 32×32 handwritten "
        "digits: the template of every CNN since."
    ),
    "alexnet": gettext_lazy(
        "ReLU, dropout and overlapping max pooling won ImageNet 2012; most of its "
        "parameters sit in the fully connected classifier."
    ),
    "vgg16": gettext_lazy(
        "Only 3×3 convolutions, stacked in five stages: simple and heavy. Nine "
        "tenths of its 138 M parameters sit in the classifier, most MACs in the "
        "convolutions."
    ),
    "googlenet": gettext_lazy(
        "Inception modules run 1×1, 3×3 and 5×5 convolutions and pooling side by "
        "side, with 1×1 reductions first: about 9× fewer parameters than AlexNet."
    ),
    "resnet18": gettext_lazy(
        "Skip connections let the signal and the gradient bypass each pair of 3×3 "
        "convolutions (basic blocks), so 18 layers train easily."
    ),
    "resnet50": gettext_lazy(
        "50 layers built from 1×1 bottleneck blocks (256 → 64 → 256): much deeper, "
        "yet only about twice ResNet18's parameters."
    ),
}
STRATEGY_LABELS = {
    "feature-extractor": gettext_lazy("Feature extractor"),
    "fine-tune-last-stage": gettext_lazy("Fine-tune the last stage"),
    "fine-tune-all": gettext_lazy("Fine-tune everything"),
}
STRATEGY_DESCRIPTIONS = {
    "feature-extractor": gettext_lazy(
        "Freeze the whole pretrained backbone and train only the new 33-class "
        "layer. Fast and safe with little data, but the features cannot adapt."
    ),
    "fine-tune-last-stage": gettext_lazy(
        "Freeze conv1 to layer3 (generic edges, textures, parts) and train layer4 "
        "with the new head, using a small learning rate for layer4."
    ),
    "fine-tune-all": gettext_lazy(
        "Start from the pretrained weights and train every layer with a small "
        "learning rate. Needs the most data and compute; adapts the most."
    ),
}
SIZE_LABELS = {
    "small": gettext_lazy("Small dataset"),
    "large": gettext_lazy("Large dataset"),
}
SIMILARITY_LABELS = {
    "similar": gettext_lazy("Similar to ImageNet"),
    "different": gettext_lazy("Different from ImageNet"),
}
CASE_REASONS = {
    ("small", "similar"): gettext_lazy(
        "The pretrained features already describe your images; training more than "
        "the head would only overfit the few examples."
    ),
    ("small", "different"): gettext_lazy(
        "Too little data to fine-tune, and the last stage is the most "
        "ImageNet-specific: freeze, take features from an earlier stage such as "
        "layer3, train a small head and augment heavily."
    ),
    ("large", "similar"): gettext_lazy(
        "Enough data to fine-tune the whole network without overfitting; use a "
        "small learning rate. Fine-tuning only the last stage is a cheaper first try."
    ),
    ("large", "different"): gettext_lazy(
        "Enough data to adapt every layer: fine-tune everything. Pretrained "
        "weights are still a better start than random ones."
    ),
}
OP_LABELS = {
    "resized-crop": gettext_lazy("Random resized crop"),
    "hflip": gettext_lazy("Horizontal flip"),
    "vflip": gettext_lazy("Vertical flip"),
    "rotate": gettext_lazy("Small rotation"),
    "rotate-large": gettext_lazy("Large rotation"),
    "color-jitter": gettext_lazy("Colour jitter"),
    "grayscale": gettext_lazy("Greyscale"),
    "blur": gettext_lazy("Gaussian blur"),
    "erase": gettext_lazy("Random erasing"),
}
WHY_WRONG_FOR_DIGITS = {
    "hflip": gettext_lazy(
        "A mirrored 2, 3, 4, 7 or 9 is no digit at all: the model learns shapes "
        "that never occur."
    ),
    "vflip": gettext_lazy("Upside down, a 6 looks like a 9 and a 9 like a 6."),
    "rotate-large": gettext_lazy(
        "Rotated far, a 6 drifts towards a 9 and a 9 towards a 6; keep digit "
        "rotations within about ±15°."
    ),
}


def _gettext_label(mapping: dict[Any, Any], key: Any) -> str:
    return str(mapping.get(key, key))


# --- Payloads shared by the lesson views and the API ------------------------------


def _model_dict(key: str, *, with_layers: bool) -> dict:
    data = architecture_summary(key).as_dict(with_layers=with_layers)
    data["note"] = _gettext_label(MODEL_NOTES, key)
    return data


def _block_dict(block: Any) -> dict:
    return {
        "name": block.name,
        "channels": block.channels,
        "size": block.size,
        "params": block.params,
        "macs": block.macs,
        "layers": [row.as_dict() for row in block.layers],
    }


def architectures_payload() -> dict:
    """Every architecture with its layer table, plus the residual-block comparison."""
    blocks = compare_residual_blocks()
    return {
        "models": [
            _model_dict(summary.key, with_layers=True)
            for summary in all_architecture_summaries()
        ],
        "blocks": {
            "basic": _block_dict(blocks.basic),
            "bottleneck": _block_dict(blocks.bottleneck),
            "params_ratio": round(blocks.params_ratio, 1),
        },
        "convention": _(
            "MACs count one multiply-add of a Conv2d or Linear layer per image; "
            "GFLOPs = 2 × GMACs. torchvision's published “GFLOPS” (the weights' "
            "_ops metadata) count one multiply-add as one operation, so compare "
            "them with the GMACs column."
        ),
    }


def transfer_payload() -> dict:
    """Trainable/frozen counts per strategy and the four dataset cases."""
    strategies = []
    for key in TRANSFER_STRATEGIES:
        counts = transfer_learning_counts(key)
        strategies.append(
            {
                "key": key,
                "label": _gettext_label(STRATEGY_LABELS, key),
                "description": _gettext_label(STRATEGY_DESCRIPTIONS, key),
                "trainable": counts.trainable,
                "frozen": counts.frozen,
                "total": counts.total,
                "trainable_share": round(counts.trainable_share, 4),
                "trainable_blocks": list(counts.trainable_blocks),
            }
        )
    cases = [
        {
            "size": case.size,
            "similarity": case.similarity,
            "size_label": _gettext_label(SIZE_LABELS, case.size),
            "similarity_label": _gettext_label(SIMILARITY_LABELS, case.similarity),
            "strategy": case.strategy,
            "strategy_label": _gettext_label(STRATEGY_LABELS, case.strategy),
            "reason": _gettext_label(CASE_REASONS, (case.size, case.similarity)),
        }
        for case in TRANSFER_CASES
    ]
    return {
        "model": "resnet50",
        "num_classes": TRANSFER_NUM_CLASSES,
        "blocks": ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4", "fc"],
        "strategies": strategies,
        "cases": cases,
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
                "label": _gettext_label(OP_LABELS, op.key),
                "detail": op.detail,
                "wrong_for_digits": op.wrong_for_digits,
                "why": _gettext_label(WHY_WRONG_FOR_DIGITS, op.key)
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


# --- Augmentation input ----------------------------------------------------------


def _image_limits() -> ImageLimits:
    return ImageLimits(
        max_bytes=settings.MAX_UPLOAD_BYTES,
        max_pixels=settings.MAX_IMAGE_PIXELS,
        max_side=settings.MAX_IMAGE_SIDE,
        min_side=settings.MIN_IMAGE_SIDE,
    )


def sample_paths() -> dict[str, Path]:
    """Photos shipped in ``static/img/samples/`` by file stem (the public choices)."""
    folder = finders.find("img/samples")
    if not folder or not Path(folder).is_dir():
        return {}
    return {
        path.stem: path
        for path in sorted(Path(folder).iterdir())
        if path.suffix.lower() in SAMPLE_SUFFIXES
    }


def samples_payload() -> list[dict]:
    samples = [
        {
            "key": key,
            "label": path.name,
            "url": static(f"img/samples/{path.name}"),
        }
        for key, path in sample_paths().items()
    ]
    samples.append(
        {"key": DIGIT_SAMPLE, "label": _("Handwritten-style digit 6"), "url": ""}
    )
    return samples


def _sample_rgb(key: str) -> np.ndarray:
    if key == DIGIT_SAMPLE:
        return draw_digit("6", size=TILE_SIZE)
    path = sample_paths().get(key)
    if path is None:
        raise BadInput(_("Unknown sample image."))
    return decode_image(path.read_bytes(), _image_limits()).rgb


@lru_cache(maxsize=32)
def sample_grid_png(sample: str, seed: int, count: int) -> bytes:
    """PNG grid for a shipped sample; samples are public, so cache per process."""
    grid = augmentation_grid(
        _sample_rgb(sample), count=count, seed=seed, tile_size=TILE_SIZE
    )
    return encode_png(grid.image)


class AugmentForm(forms.Form):
    """A sample name or an uploaded photo, a seed and a tile count."""

    sample = forms.CharField(required=False, max_length=64)
    image = forms.FileField(required=False)
    seed = forms.IntegerField(required=False, min_value=0, max_value=MAX_SEED)
    count = forms.IntegerField(required=False, min_value=1, max_value=MAX_TILES)

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


def _augment_png(*, sample: str, image: Any, seed: int, count: int) -> bytes:
    """The grid PNG for an uploaded file (preferred when given) or a sample name."""
    if image is None:
        return sample_grid_png(sample, seed, count)
    limit = settings.MAX_UPLOAD_BYTES
    if image.size > limit:
        # Refuse before reading a huge body into memory.
        raise BadInput(
            _("The file is %(size).1f MB; the limit is %(limit).1f MB.")
            % {"size": image.size / 2**20, "limit": limit / 2**20}
        )
    rgb = decode_image(image.read(), _image_limits()).rgb
    grid = augmentation_grid(rgb, count=count, seed=seed, tile_size=TILE_SIZE)
    return encode_png(grid.image)


def _png_response(png: bytes, *, public: bool) -> HttpResponse:
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600" if public else "private"
    return response


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


# --- Lesson widget endpoints (/lessons/arch/...) ---------------------------------


@require_GET
def architectures_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(architectures_payload())


@require_GET
def transfer_learning_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(transfer_payload())


@require_GET
def augment_samples_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "samples": samples_payload(),
            "max_count": MAX_TILES,
            "default_count": DEFAULT_TILES,
        }
    )


@require_GET
def augment_plan_json(request: HttpRequest) -> JsonResponse:
    form = AugmentForm({"sample": DIGIT_SAMPLE, **request.GET.dict()})
    if not form.is_valid():
        return _json_error(_form_error(form))
    seed, count = form.cleaned_data["seed"], form.cleaned_data["count"]
    plans = augmentation_plan(count=count, seed=seed, tile_size=TILE_SIZE)
    return JsonResponse(plan_payload(plans, seed=seed))


@require_GET
def augment_sample_png(request: HttpRequest, sample: str) -> HttpResponse:
    form = AugmentForm({"sample": sample, **request.GET.dict()})
    if not form.is_valid():
        return _json_error(_form_error(form))
    if sample != DIGIT_SAMPLE and sample not in sample_paths():
        raise Http404(_("Unknown sample image."))
    data = form.cleaned_data
    return _png_response(
        sample_grid_png(sample, data["seed"], data["count"]), public=True
    )


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
        png = _augment_png(
            sample=data["sample"],
            image=data.get("image"),
            seed=data["seed"],
            count=data["count"],
        )
    except BadInput as exc:
        return _json_error(str(exc))
    return _png_response(png, public=False)


# --- API (/api/v1/...) -------------------------------------------------------------


class ArchitectureListApi(APIView):
    """Every classic architecture with totals (no layer table)."""

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        name = serializers.CharField()
        year = serializers.IntegerField()
        input_shape = serializers.ListField(child=serializers.IntegerField())
        output_shape = serializers.ListField(child=serializers.IntegerField())
        params = serializers.IntegerField()
        macs = serializers.IntegerField()
        gmacs = serializers.FloatField()
        gflops = serializers.FloatField()
        published_params = serializers.IntegerField(allow_null=True)
        published_gmacs = serializers.FloatField(allow_null=True)
        params_match_published = serializers.BooleanField(allow_null=True)
        note = serializers.CharField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        summaries = all_architecture_summaries()
        data = [_model_dict(s.key, with_layers=False) for s in summaries]
        return Response(self.OutputSerializer(data, many=True).data)


class ArchitectureDetailApi(APIView):
    """One architecture with its layer table (rows nest up to three levels)."""

    class OutputSerializer(ArchitectureListApi.OutputSerializer):
        layers = serializers.JSONField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, key: str) -> Response:
        try:
            data = _model_dict(key, with_layers=True)
        except UnknownArchitecture:
            raise NotFound(_("Unknown architecture.")) from None
        return Response(self.OutputSerializer(data).data)


class TransferLearningApi(APIView):
    """ResNet50 with a new 33-class head: trainable/frozen counts per strategy."""

    class OutputSerializer(serializers.Serializer):
        model = serializers.CharField()
        num_classes = serializers.IntegerField()
        blocks = serializers.ListField(child=serializers.CharField())
        strategies = serializers.JSONField()
        cases = serializers.JSONField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(transfer_payload()).data)


class AugmentationCreateApi(APIView):
    """Multipart ``image`` (or ``sample``), ``seed``, ``count`` → grid PNG + labels."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        sample = serializers.CharField(required=False, max_length=64)
        image = serializers.FileField(required=False)
        seed = serializers.IntegerField(required=False, min_value=0, max_value=MAX_SEED)
        count = serializers.IntegerField(
            required=False, min_value=1, max_value=MAX_TILES
        )

    class OutputSerializer(serializers.Serializer):
        seed = serializers.IntegerField()
        count = serializers.IntegerField()
        columns = serializers.IntegerField()
        tile_size = serializers.IntegerField()
        width = serializers.IntegerField()
        height = serializers.IntegerField()
        tiles = serializers.JSONField()
        grid_png = serializers.CharField(help_text="data:image/png;base64,...")

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            raise BadInput(f"{field}: {errors[0]}")
        data = serializer.validated_data
        if not data.get("image") and not data.get("sample"):
            raise BadInput(_("Choose a sample or upload a photo."))
        seed, count = data.get("seed", 0), data.get("count", DEFAULT_TILES)
        png = _augment_png(
            sample=data.get("sample", ""),
            image=data.get("image"),
            seed=seed,
            count=count,
        )
        plans = augmentation_plan(count=count, seed=seed, tile_size=TILE_SIZE)
        payload = plan_payload(plans, seed=seed)
        payload["grid_png"] = "data:image/png;base64," + base64.b64encode(png).decode()
        return Response(self.OutputSerializer(payload).data)
