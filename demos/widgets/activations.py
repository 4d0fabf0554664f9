"""Widget ``activations`` (lesson 6): one conv channel through each activation."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.http import HttpRequest
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.common.samples import get_sample, sample_bytes
from demos.ml import networks as cnn_models
from demos.ml.feature_maps import (
    histogram,
    signed_image,
)
from demos.widgets.kit import DEFAULT_WIDGET_SAMPLE, png_data_url, public_for_an_hour
from demos.widgets.maps import cnn_samples, decode_full_upload
from portal.lib.api import BoundedIntegerField, validated
from portal.lib.errors import BadInput


class ActivationDetailApi(APIView):
    """One conv1 channel of a sample photo through ReLU, BatchNorm and Dropout."""

    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        sample = serializers.CharField(required=False, allow_blank=True, max_length=64)
        channel = BoundedIntegerField(default=0)
        # Dropout's seed (torch.manual_seed's, 32 bits): a class needs far fewer.
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
        # A catalogue key; an old file-stem name (``chelsea``) answers as its key.
        sample = get_sample(data.get("sample") or DEFAULT_WIDGET_SAMPLE).key
        payload = activation_demo(
            sample=sample, channel=data["channel"], seed=data["seed"]
        )
        return public_for_an_hour(Response(self.OutputSerializer(payload).data))


ACTIVATION_SIZE = 128  # conv layers take any size: a bigger photo reads better


STAGES = (
    ("conv", _("conv1 output (before anything else)")),
    ("relu", _("ReLU(conv1): negatives become 0")),
    ("bn_train", _("BatchNorm, train mode: this image's own mean and variance")),
    ("bn_eval", _("BatchNorm, eval mode: running statistics from training")),
    ("bn_relu", _("BatchNorm (eval) then ReLU: what the next layer receives")),
    ("dropout_train", _("Dropout p=0.5, train mode: half zeroed, the rest doubled")),
    ("dropout_eval", _("Dropout, eval mode: passes everything unchanged")),
)


def _summary(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": round(float(values.mean()), 4),
        "std": round(float(values.std()), 4),
        "min": round(float(values.min()), 4),
        "max": round(float(values.max()), 4),
        "zeros": round(float((values == 0).mean()), 4),
    }


def activation_demo(*, sample: str, channel: int, seed: int = 0) -> dict[str, Any]:
    """A real feature map through ReLU, BatchNorm and Dropout, train vs eval.

    The map is channel ``channel`` of the digits CNN's first convolution on a
    128x128 grey version of a sample photo (convolutions work at any size). BatchNorm
    uses the network's own learnt parameters: in train mode the statistics of this
    image, in eval mode the running averages of the training digits. Each stage comes
    with a picture (blue negative, white zero, red positive; pairs share a scale),
    a histogram and summary numbers.
    """
    from demos.ml.digits_input import photo_to_digits_array
    from demos.ml.digits_numpy import dropout_keep_mask, relu

    # The site's one activation path, in numpy (no torch in the web worker): the
    # digits CNN's conv1 → bn1 (eval mode: running statistics) → relu1.
    loaded = cnn_models.get_digits_net()
    count = loaded.net["conv1.weight"].shape[0]
    if not 0 <= channel < count:
        raise BadInput(
            gettext("Channel must be between 0 and %(last)d.") % {"last": count - 1}
        )
    decoded = decode_full_upload(sample_bytes(sample))
    inputs = photo_to_digits_array(decoded.rgb, ACTIVATION_SIZE)
    grey = np.rint(inputs[0, 0] * 255).astype(np.uint8)
    outputs = loaded.forward(inputs, until="relu1")
    conv, bn_eval, bn_relu = outputs["conv1"], outputs["bn1"], outputs["relu1"]
    # Train mode normalises with this image's own statistics instead.
    bn_train = loaded.net.batch_norm("bn1", conv, train=True)
    # Dropout p=0.5 in training: the mask ``torch.rand(...) >= 0.5`` draws for this
    # seed (what the widget showed on torch), the kept values doubled.
    dropout_train = bn_relu * dropout_keep_mask(bn_relu.shape, seed) / np.float32(0.5)
    values = {
        "conv": conv,
        "relu": relu(conv),
        "bn_train": bn_train,
        "bn_eval": bn_eval,
        "bn_relu": bn_relu,
        "dropout_train": dropout_train,
        "dropout_eval": bn_relu,
    }
    arrays = {key: value[0, channel] for key, value in values.items()}
    # Pairs a student compares share one colour scale.
    groups = (
        ("conv", "relu"),
        ("bn_train", "bn_eval", "bn_relu"),
        ("dropout_train", "dropout_eval"),
    )
    limits = {}
    for group in groups:
        limit = max(float(np.abs(arrays[key]).max()) for key in group)
        limits.update(dict.fromkeys(group, limit))
    return {
        "sample": sample,
        "channel": channel,
        "channels": count,
        "input": png_data_url(grey),
        "running_mean": round(float(loaded.net["bn1.running_mean"][channel]), 4),
        "running_var": round(float(loaded.net["bn1.running_var"][channel]), 4),
        "stages": [
            {
                "key": key,
                "title": str(title),
                "image": png_data_url(signed_image(arrays[key], limits[key])),
                "limit": round(limits[key], 4),
                "histogram": histogram(arrays[key], bins=30),
                "stats": _summary(arrays[key]),
            }
            for key, title in STAGES
        ],
    }


DIGITS_CONV1_CHANNELS = 6


def activations_context(request: HttpRequest) -> dict[str, Any]:
    samples, sample = cnn_samples(request)
    options = {
        "samples": samples,
        "sample": sample,
        "channels": list(range(DIGITS_CONV1_CHANNELS)),
    }
    return {"options": options}


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("cnn/activations/", ActivationDetailApi.as_view(), name="cnn-activations"),
]
