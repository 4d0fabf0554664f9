"""CNN lessons API under /api/v1/: feature-map models, feature maps, digit predictions,
the activations, autoencoder and LSTM-gates demos.

Thin views over ``demos.cnn.services``. Bad input (an unreadable image, an unknown
model, layer or sample) becomes 400 ``{"detail": ...}`` and a model whose weights are
missing 503 with the reason and the fix command, both through portal/api.py's
exception handler. Every image URL in a response is absolute and served by
``demos.cnn.views.map_file``: maps of a sample photo are public, maps of an upload or
a drawing only to the user who sent it. The activation and autoencoder data are
public teaching material computed from the committed digits models (cacheable).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.cnn import services as cnn_services
from demos.lessons import lstm, training_runs
from demos.ml import networks as cnn_models
from demos.people.selectors import get_demo_run_for_user
from demos.people.services import read_run_file
from portal.lib.api import BoundedIntegerField, UploadRateThrottle, validated


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


class LayerSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    has_filters = serializers.BooleanField()


class CnnModelSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    family = serializers.CharField()
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


class DigitLayerSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    grid_url = serializers.URLField()


class CnnModelListApi(APIView):
    """Every feature-map model, whether it can run here, and its layers' shapes."""

    class OutputSerializer(CnnModelSerializer):
        pass

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = cnn_models.list_models()
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

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        image_bytes = None
        if "image" in data:
            image_bytes = read_upload(data["image"])
        elif "run" in data:
            image_bytes = _run_image_bytes(request, data["run"])
        result = cnn_services.render_feature_maps(
            model_key=data["model"],
            layer=data["layer"],
            image_bytes=image_bytes,
            sample=data.get("sample"),
            owner_id=request.user.pk,
            top_k=data.get("top_k"),
        )

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
        }
        return Response(self.OutputSerializer(payload).data)


def _run_image_bytes(request: Request, public_id: Any) -> bytes:
    """The original photo of a person-demo run the user may see (else 404)."""
    run = get_demo_run_for_user(request.user, public_id)
    try:
        return read_run_file(run, run.image_path)  # a folder or a bucket
    except FileNotFoundError as exc:
        raise Http404("The run's photo is gone.") from exc


class DigitPredictApi(APIView):
    """Which digit a drawing shows (PNG of any size, dark on light or light on dark)."""

    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadRateThrottle]
    throttle_scope = "uploads"

    class InputSerializer(serializers.Serializer):
        image = serializers.FileField()

    class OutputSerializer(serializers.Serializer):
        digit = serializers.IntegerField()
        probabilities = serializers.ListField(child=serializers.FloatField())
        maps_url = serializers.URLField()
        pixels = serializers.ListField(
            child=serializers.ListField(child=serializers.IntegerField())
        )
        cam = serializers.ListField(
            child=serializers.ListField(child=serializers.FloatField()),
            help_text="Grad-CAM of the digit over the 32x32 input, rows from the top",
        )
        cam_overlay_url = serializers.CharField(help_text="data:image/png;base64,...")

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.data))
        prediction = cnn_services.predict_digit(
            image_bytes=read_upload(data["image"]), owner_id=request.user.pk
        )
        maps_url = request.build_absolute_uri(
            reverse("api:cnn-digit-maps", kwargs={"digest": prediction.digest})
        )
        payload = {
            "digit": prediction.digit,
            "probabilities": prediction.probabilities,
            "maps_url": maps_url,
            "pixels": prediction.pixels,
            "cam": prediction.cam,
            "cam_overlay_url": prediction.cam_overlay_url,
        }
        return Response(self.OutputSerializer(payload).data)


class DigitMapsApi(APIView):
    """Every layer's maps of a drawing this user sent to ``DigitPredictApi``."""

    class OutputSerializer(serializers.Serializer):
        digit = serializers.IntegerField()
        probabilities = serializers.ListField(child=serializers.FloatField())
        input_url = serializers.URLField()
        layers = DigitLayerSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, digest: str) -> Response:
        try:
            maps = cnn_services.digit_maps(digest=digest, owner_id=request.user.pk)
        except FileNotFoundError as exc:
            raise Http404("No such drawing.") from exc
        scope = cnn_services.MINE
        payload = {
            "digit": maps["digit"],
            "probabilities": maps["probabilities"],
            "input_url": file_url(request, scope, digest, "input.png"),
            "layers": [
                {
                    "name": layer["name"],
                    "label": layer["label"],
                    "shape": layer["shape"],
                    "grid_url": file_url(request, scope, digest, layer["grid_file"]),
                }
                for layer in maps["layers"]
            ],
        }
        return Response(self.OutputSerializer(payload).data)


def _public_for_an_hour(response: Response) -> Response:
    """The demos depend only on the committed models: caches may keep them."""
    patch_cache_control(response, public=True, max_age=3600)
    return response


class ActivationDetailApi(APIView):
    """One conv1 channel of a sample photo through ReLU, BatchNorm and Dropout."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = serializers.CharField(required=False, allow_blank=True, max_length=64)
        channel = BoundedIntegerField(default=0)
        # torch.manual_seed takes a 64-bit seed; a class needs far fewer.
        seed = BoundedIntegerField(default=0, min_value=0, max_value=2**31 - 1)

    class OutputSerializer(serializers.Serializer):
        sample = serializers.CharField()
        channel = serializers.IntegerField()
        channels = serializers.IntegerField()
        input = serializers.CharField(help_text="data:image/png;base64,...")
        running_mean = serializers.FloatField()
        running_var = serializers.FloatField()
        stages = serializers.JSONField()

    @extend_schema(parameters=[InputSerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.query_params))
        sample = data.get("sample") or _first_sample()
        payload = cnn_services.activation_demo(
            sample=sample, channel=data["channel"], seed=data["seed"]
        )
        return _public_for_an_hour(Response(self.OutputSerializer(payload).data))


def _first_sample() -> str:
    samples = cnn_services.list_samples()
    return samples[0]["name"] if samples else ""


class AutoencoderDetailApi(APIView):
    """Test digits, their reconstructions and the t-SNE maps (one fixed document)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        labels = serializers.ListField(child=serializers.IntegerField())
        digits = serializers.JSONField()
        reconstructions = serializers.JSONField()
        errors = serializers.ListField(child=serializers.FloatField())
        tsne = serializers.JSONField()
        tsne_params = serializers.JSONField()
        code_size = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        payload = cnn_services.autoencoder_demo()
        return _public_for_an_hour(Response(self.OutputSerializer(payload).data))


class LstmGatesApi(APIView):
    """The lesson's LSTM over a sine or sawtooth wave: per time step its input,
    forget and output gates, cell state and prediction (public, cacheable)."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=["sine", "sawtooth"], default="sawtooth")
        period = serializers.IntegerField(min_value=8, max_value=48, default=20)
        warmup = serializers.IntegerField(min_value=4, max_value=72, default=48)

    @extend_schema(parameters=[InputSerializer], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        data = validated(self.InputSerializer(data=request.query_params))
        payload = lstm.gate_trace(**data)
        return _public_for_an_hour(Response(payload))


def _training_run_body(request: Request, run: Any) -> dict[str, Any]:
    return {
        "id": str(run.public_id),
        "url": request.build_absolute_uri(
            reverse("api:training-run-detail", kwargs={"public_id": run.public_id})
        ),
        "state": run.state,
        "detail": run.detail,
        "settings": run.options,
        "epochs": run.options.get("epochs"),
        "curves": run.curves,
        "created": run.created.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
    }


class TrainingRunCreateApi(APIView):
    """POST the switches → 202 and the run's URL; the MLP trains off the request.

    One run per student at a time (409 while one is active); every run stops at
    ``TRAINING_RUN_SECONDS``. Poll the URL for the curves as they grow.
    """

    class InputSerializer(serializers.Serializer):
        subset = serializers.IntegerField(min_value=20, max_value=1437, default=100)
        epochs = serializers.IntegerField(min_value=1, max_value=60, default=30)
        dropout = serializers.FloatField(min_value=0, max_value=0.9, default=0.0)
        weight_decay = serializers.FloatField(min_value=0, max_value=0.1, default=0.0)
        augment = serializers.BooleanField(default=False)
        learning_rate = serializers.FloatField(
            min_value=0.00001, max_value=2, default=0.01
        )

    @extend_schema(request=InputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        from demos.ml.training import TrainingSettings

        data = validated(self.InputSerializer(data=request.data))
        try:
            run = training_runs.start_training_run(
                owner=request.user, options=TrainingSettings(**data)
            )
        except training_runs.TrainingRunBusy as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(_training_run_body(request, run), status=202)


class TrainingRunDetailApi(APIView):
    """GET → the run's state and the curves so far (owner or staff, else 404)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, public_id: Any) -> Response:
        run = training_runs.get_training_run_for_user(request.user, public_id)
        response = Response(_training_run_body(request, run))
        response["Cache-Control"] = "private, no-store"
        return response
