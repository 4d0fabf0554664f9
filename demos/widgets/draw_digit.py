"""Widget ``draw-digit`` (lesson 5): the digits CNN reads a drawing, with its maps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.http import Http404
from django.urls import path, reverse
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.limits import own_image_slot
from demos.ml import networks as cnn_models
from demos.widgets import maps as w_maps
from demos.widgets.kit import file_url, png_data_url, read_upload
from demos.widgets.maps import (
    MINE,
    BlankDrawing,
    cache_digest,
    decode_full_upload,
    file_slug,
    read_run,
    run_dir,
    weights_tag,
    write_run,
)
from portal.lib.api import UploadRateThrottle, validated


class DigitLayerSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    shape = serializers.ListField(child=serializers.IntegerField())
    grid_url = serializers.URLField()


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
        with own_image_slot(request.user, has_upload=True):
            prediction = predict_digit(
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
            maps = digit_maps(digest=digest, owner_id=request.user.pk)
        except FileNotFoundError as exc:
            raise Http404("No such drawing.") from exc
        scope = w_maps.MINE
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


@dataclass(frozen=True)
class DigitPrediction:
    digit: int
    probabilities: list[float]  # 10 values, index = digit
    digest: str  # of the cached maps (scope MINE)
    pixels: list[list[int]]  # the 8x8 image (0..16) the drawing became
    cam: list[list[float]]  # Grad-CAM of the digit over the 32x32 input, 0..1
    cam_overlay_url: str  # data:image/png;base64 of the map over the input


def predict_digit(*, image_bytes: bytes, owner_id: int) -> DigitPrediction:
    """Classify a drawn digit (PNG of any size, either polarity), explain the answer
    with Grad-CAM (at ``relu2``, the last convolution block) and cache its maps.

    The drawing is centred and scaled like the training data (see
    ``digits_input.prepare_drawn_digit``); every layer's maps of the network input
    are written to the owner's cache folder for ``digit_maps``.
    """
    from demos.ml import digits_input
    from demos.ml.digits_numpy import softmax
    from demos.ml.gradcam import cam_overlay

    decoded = decode_full_upload(image_bytes)
    try:
        pixels = digits_input.prepare_drawn_digit(decoded.rgb)
    except digits_input.NoDigitFound as exc:
        raise BlankDrawing(
            gettext("No digit found: the drawing is blank. Draw a digit first.")
        ) from exc
    inputs = digits_input.digits_to_array(pixels)
    # numpy, no torch in the web worker (demos.ml.digits_numpy).
    loaded = cnn_models.get_digits_net()
    outputs = loaded.forward(inputs)
    probabilities = [float(p) for p in softmax(outputs["fc3"][0])]
    digit = int(np.argmax(probabilities))
    spec = loaded.spec
    cam = loaded.net.class_activation_map(inputs, digit)
    preview = cnn_models.grey_preview(inputs)
    overlay = cam_overlay(preview, cam)
    weights = cnn_models.weights_path(spec)
    digest = cache_digest(decoded.sha256, "digits-draw", weights_tag(weights))
    folder = run_dir(MINE, digest, owner_id)
    if not (folder / "run.json").exists():
        run = cnn_models.CnnRun(
            input_preview=preview,
            maps={layer.name: outputs[layer.name][0] for layer in spec.layers},
        )
        write_run(
            folder,
            loaded,
            run,
            {"digit": digit, "probabilities": [round(p, 5) for p in probabilities]},
        )
    return DigitPrediction(
        digit=digit,
        probabilities=[round(p, 5) for p in probabilities],
        digest=digest,
        pixels=pixels.astype(int).tolist(),
        cam=np.round(cam.astype(np.float64), 4).tolist(),
        cam_overlay_url=png_data_url(overlay),
    )


def digit_maps(*, digest: str, owner_id: int) -> dict[str, Any]:
    """The cached layers of a drawn digit: ``{"digit", "probabilities", "layers"}``.

    ``layers``: ``[{"name", "label", "shape", "grid_file"}]`` in network order.
    Raises ``FileNotFoundError`` when the run is not the owner's.
    """
    summary = read_run(MINE, digest, owner_id)
    spec = cnn_models.get_spec("digits-cnn")
    return {
        "digit": summary.get("digit"),
        "probabilities": summary.get("probabilities"),
        "layers": [
            {
                "name": layer.name,
                "label": str(layer.label),
                "shape": summary["layers"][layer.name]["shape"],
                "grid_file": f"{file_slug(layer.name)}.grid.png",
            }
            for layer in spec.layers
        ],
    }


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("digits/predict/", DigitPredictApi.as_view(), name="digit-predict"),
    path("digits/maps/<str:digest>/", DigitMapsApi.as_view(), name="cnn-digit-maps"),
]
