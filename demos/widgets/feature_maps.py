"""Widget ``feature-maps`` (lesson 4): every layer's maps of a CNN on a sample, an
upload or a person-demo run, with top classes and Grad-CAM."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import path
from django.utils.translation import gettext
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.auth import requesting_user
from demos.common.limits import own_image_slot
from demos.ml import networks as cnn_models
from demos.people.selectors import get_demo_run_for_user
from demos.widgets import maps as w_maps
from demos.widgets.kit import file_url, read_upload, run_image_bytes
from demos.widgets.maps import cnn_samples
from portal.lib.api import BoundedIntegerField, UploadRateThrottle, validated
from portal.lib.streaming import FileResponse


class LayerSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    has_filters = serializers.BooleanField()


class CnnModelSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField()
    dataset = serializers.CharField(
        help_text='What it learnt from: "ImageNet-1k", "COCO", "digits", ...'
    )
    available = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    fix = serializers.CharField(allow_blank=True)
    input = serializers.CharField()
    layers = LayerSerializer(many=True)


class ChannelMapSerializer(serializers.Serializer):
    channel = serializers.IntegerField()
    mean = serializers.FloatField()
    max = serializers.FloatField()
    png_url = serializers.URLField()


class TopClassSerializer(serializers.Serializer):
    label = serializers.CharField()
    probability = serializers.FloatField()
    index = serializers.IntegerField(
        allow_null=True, required=False, help_text="class index (cam_class)"
    )


class CnnModelListApi(APIView):
    """Every feature-map model, whether it can run here, and its layers' shapes."""

    class OutputSerializer(CnnModelSerializer):
        pass

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = cnn_models.list_models()
        if not request.user.is_staff:
            # Students learn who can fix it, never the administrator's command.
            for row in rows:
                if not row["available"]:
                    row["fix"] = ""
                    row["reason"] = _NOT_INSTALLED()
        return Response(self.OutputSerializer(rows, many=True).data)


class FeatureMapCreateApi(APIView):
    """Feature maps of one layer for an upload, a sample or a person-demo run."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField(required=False)
        sample = serializers.CharField(required=False, max_length=64)
        run = serializers.UUIDField(required=False)
        model = serializers.CharField(max_length=64)
        layer = serializers.CharField(max_length=64)
        top_k = BoundedIntegerField(required=False, min_value=1, max_value=4096)
        cam_class = BoundedIntegerField(
            required=False,
            min_value=0,
            max_value=999,
            help_text="Grad-CAM of this class index (one of top5[].index)",
        )

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            sources = [key for key in ("image", "sample", "run") if key in data]
            if len(sources) != 1:
                raise serializers.ValidationError(
                    "Send exactly one of: image, sample, run."
                )
            return data

    class OutputSerializer(serializers.Serializer):
        model = serializers.CharField()
        layer = serializers.CharField()
        label = serializers.CharField()
        shape = serializers.ListField(child=serializers.IntegerField())
        maps = ChannelMapSerializer(many=True)
        grid_url = serializers.URLField()
        strongest_grid_url = serializers.URLField()
        input_url = serializers.URLField()
        input_note = serializers.CharField()
        filters_url = serializers.URLField(allow_null=True)
        top5 = TopClassSerializer(many=True, allow_null=True)
        cam = serializers.DictField(allow_null=True)
        maps_id = serializers.CharField(
            help_text="names these maps for the linked view (feature-maps/linked/)"
        )

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        image_bytes = _photo_bytes(request, data)
        try:
            with own_image_slot(request.user, has_upload=image_bytes is not None):
                result = w_maps.render_feature_maps(
                    model_key=data["model"],
                    layer=data["layer"],
                    image_bytes=image_bytes,
                    sample=data.get("sample"),
                    owner_id=request.user.pk,
                    top_k=data.get("top_k"),
                    cam_class=data.get("cam_class"),
                )
        except cnn_models.CnnModelUnavailable as exc:
            if request.user.is_staff:
                raise
            # Students learn who can fix it, never the administrator's command.
            raise cnn_models.CnnModelUnavailable(_NOT_INSTALLED()) from exc

        def url(filename: str) -> str:
            return file_url(request, result.scope, result.digest, filename)

        payload = {
            "model": result.model,
            "layer": result.layer,
            "label": result.label,
            "shape": result.shape,
            "maps": [
                {**item, "png_url": url(result.channel_file(item["channel"]))}
                for item in result.maps
            ],
            "grid_url": url(result.grid_file),
            "strongest_grid_url": url(result.strongest_file),
            "input_url": url("input.png"),
            "input_note": result.input_note,
            "filters_url": url(result.filters_file) if result.filters_file else None,
            "top5": result.top5,
            "cam": result.cam,
            "maps_id": w_maps.maps_id(result.scope, result.digest),
        }
        return Response(self.OutputSerializer(payload).data)


class LinkedViewApi(APIView):
    """One pixel of one feature map of EfficientNet-Lite0, linked to the photo and
    the classes: its receptive field, the stem's dot product + bias, ReLU6, the
    channel's global average pooling and the top classes."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField(required=False)
        sample = serializers.CharField(required=False, max_length=64)
        run = serializers.UUIDField(required=False)
        maps_id = serializers.CharField(
            required=False,
            max_length=64,
            help_text="maps_id of a feature-map response (no upload again)",
        )
        model = serializers.CharField(max_length=64, default=w_maps.LINKED_MODEL)
        layer = serializers.CharField(max_length=64)
        channel = BoundedIntegerField(min_value=0, max_value=4095)
        y = BoundedIntegerField(min_value=0, max_value=4095)
        x = BoundedIntegerField(min_value=0, max_value=4095)

        def validate(self, data: dict[str, Any]) -> dict[str, Any]:
            sources = [k for k in ("image", "sample", "run", "maps_id") if k in data]
            if len(sources) != 1:
                raise serializers.ValidationError(
                    "Send exactly one of: image, sample, run, maps_id."
                )
            return data

    class OutputSerializer(serializers.Serializer):
        model = serializers.CharField()
        layer = serializers.CharField()
        label = serializers.CharField()
        channel = serializers.IntegerField()
        y = serializers.IntegerField()
        x = serializers.IntegerField()
        shape = serializers.ListField(child=serializers.IntegerField())
        value = serializers.FloatField(help_text="the map's value at (channel, y, x)")
        input_size = serializers.ListField(child=serializers.IntegerField())
        field = serializers.DictField(
            help_text="receptive field in input pixels: top, left (inclusive), "
            "bottom, right (exclusive)"
        )
        dot = serializers.DictField(
            allow_null=True,
            help_text="stem only: pixels, inputs, kernel (3 x 3 x 3, batch norm "
            "folded in), bias, sums, pre_activation, value = ReLU6(pre_activation)",
        )
        channel_mean = serializers.FloatField(
            help_text="global average pooling of the channel"
        )
        feeds_classifier = serializers.BooleanField()
        top = serializers.ListField(child=serializers.DictField())

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        image_bytes = _photo_bytes(request, data)
        try:
            with own_image_slot(request.user, has_upload=image_bytes is not None):
                payload = w_maps.linked_view(
                    model_key=data["model"],
                    layer=data["layer"],
                    channel=data["channel"],
                    y=data["y"],
                    x=data["x"],
                    image_bytes=image_bytes,
                    sample=data.get("sample"),
                    maps=data.get("maps_id"),
                    owner_id=request.user.pk,
                )
        except w_maps.MapsGone as exc:
            raise NotFound(str(exc)) from exc
        except cnn_models.CnnModelUnavailable as exc:
            if request.user.is_staff:
                raise
            raise cnn_models.CnnModelUnavailable(_NOT_INSTALLED()) from exc
        return Response(self.OutputSerializer(payload).data)


def _photo_bytes(request: Request, data: dict[str, Any]) -> bytes | None:
    """The photo a maps request names: an upload, a person-demo run of the
    student's, or ``None`` (a sample, or the model's own default)."""
    if "image" in data:
        return read_upload(data["image"])
    if "run" in data:
        return run_image_bytes(request, data["run"])
    return None


@require_GET
def map_file(
    request: HttpRequest, scope: str, digest: str, filename: str
) -> FileResponse:
    try:
        path = w_maps.map_file(scope, digest, filename, _requester_id(request))
    except (FileNotFoundError, ValueError) as exc:
        path = _staff_lookup(request, scope, digest, filename)
        if path is None:
            raise Http404("No such image.") from exc
    response = FileResponse(path.open("rb"), content_type="image/png")
    # Content never changes for a name (the digest covers image, model and weights).
    privacy = "public" if scope == w_maps.PUBLIC else "private"
    response["Cache-Control"] = f"{privacy}, max-age=86400"
    return response


def _staff_lookup(
    request: HttpRequest, scope: str, digest: str, filename: str
) -> Path | None:
    """Staff may open any student's maps; the digest names the run in every folder."""
    if scope != w_maps.MINE or not request.user.is_staff:
        return None
    for owner_id in w_maps.owners_of(digest):
        try:
            return w_maps.map_file(scope, digest, filename, owner_id)
        except (FileNotFoundError, ValueError):
            continue
    return None


def _requester_id(request: HttpRequest) -> int | None:
    """The logged-in user, by session or by the API token that got the image URLs."""
    user = requesting_user(request)
    return user.pk if user is not None else None


def _NOT_INSTALLED() -> str:  # noqa: N802 (a message, like a constant)
    return gettext(
        "Not installed on this server: your instructor or the administrator can add it."
    )


RUN_MODEL = "yolox-nano"  # "what the detector saw" opens on the detector itself


def _owned_run_id(request: HttpRequest) -> tuple[str, bool]:
    """(``?run=`` id, False) for a run the user may see; ("", True) for any other."""
    raw = request.GET.get("run")
    if not raw:
        return "", False
    try:
        run = get_demo_run_for_user(request.user, raw)
    except Http404:  # not a UUID, not this user's run, or gone
        return "", True
    return str(run.public_id), False


def feature_maps_context(request: HttpRequest) -> dict[str, Any]:
    """Samples, every model with its availability (and fix), and the preset choices."""
    samples, sample = cnn_samples(request)
    is_staff = bool(getattr(request.user, "is_staff", False))
    models = []
    for spec in cnn_models.CNN_MODELS.values():
        if cnn_models.dataset(spec.key) == "digits":
            continue  # drawn digits only (the draw-digit widget): never a photo
        status = cnn_models.availability(spec.key)
        models.append(
            {
                "key": spec.key,
                "name": str(spec.name),
                "available": status.available,
                "reason": status.reason if is_staff else _NOT_INSTALLED(),
                "fix": status.fix if is_staff else "",
            }
        )
    available = {row["key"] for row in models if row["available"]}
    run_id, run_missing = _owned_run_id(request)
    model = request.GET.get("model")
    if model not in available:
        model = RUN_MODEL if run_id and RUN_MODEL in available else None
    options = {
        "samples": samples,
        "sample": sample,
        "models": models,
        "unavailable": [row for row in models if not row["available"]],
        "model": model or cnn_models.DEFAULT_MODEL,
        "run_id": run_id,
        "run_missing": run_missing,
    }
    return {"options": options}


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls = [
    path(
        "cnn/maps/<str:scope>/<str:digest>/<str:filename>",
        map_file,
        name="cnn-map-file",
    ),
]
api_urls = [
    path("cnn-models/", CnnModelListApi.as_view(), name="cnn-model-list"),
    path("feature-maps/", FeatureMapCreateApi.as_view(), name="feature-map-create"),
    path("feature-maps/linked/", LinkedViewApi.as_view(), name="feature-map-linked"),
]
