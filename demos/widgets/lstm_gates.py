"""Widget ``lstm-gates`` (lesson 13): the wave forecaster's gates, step by step; its
training (``manage.py train_lstm``).

The API runs the LSTM in numpy (``demos.ml.sequence_gates``) from the committed
``sequence_lstm.npz``, checked against the SHA-256 in ``sequence_lstm.json``: a
web worker serving it imports no torch. Training (the command) runs on torch and
writes the ``.pth``, the ``.npz`` and the record together.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import path
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.ml import networks as cnn_models
from demos.ml import sequence_gates
from demos.ml.bundled import WEIGHTS_DIR
from demos.ml.digits_training import save_model
from demos.widgets.kit import public_for_an_hour
from models_store import loading
from portal.lib.api import validated


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
        payload = gate_trace(**data)
        return public_for_an_hour(Response(payload))


LSTM_GATE_ROWS = (
    ("input_gate", gettext_lazy("Input gate i: how much of the candidate is written")),
    ("forget_gate", gettext_lazy("Forget gate f: how much of the old cell is kept")),
    ("output_gate", gettext_lazy("Output gate o: how much of the cell is shown")),
    ("cell", gettext_lazy("Cell state c")),
)


def lstm_context(request: HttpRequest) -> dict[str, Any]:
    return {"gate_rows": [(name, str(title)) for name, title in LSTM_GATE_ROWS]}


WEIGHTS_FILE = "sequence_lstm.pth"


TRACE_LENGTH = 72  # steps shown: the warm-up read from the wave, then its own


def train_sequence_model(
    *, out_dir: Path = WEIGHTS_DIR, steps: int = 4000, seed: int = 0
) -> dict[str, Any]:
    """Train the forecaster on made-up waves; write ``sequence_lstm.pth``, the same
    weights as ``sequence_lstm.npz`` (for the torch-free API) and the ``.json``
    record of both."""
    import torch

    from demos.ml import sequences

    torch.set_num_threads(settings.TORCH_THREADS)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, result = sequences.train_forecaster(steps=steps, seed=seed)
    arrays_sha256 = sequence_gates.write_arrays(
        out_dir / sequence_gates.ARRAYS_FILE, sequences.lstm_arrays(model)
    )
    return save_model(
        model,
        out_dir / WEIGHTS_FILE,
        {
            "model": "Forecaster (nn.LSTM(1, 8) + Linear(8, 1))",
            "data": "sine and sawtooth waves, periods 12-40 steps, made by "
            "demos/ml/sequences.py",
            "test_mse": round(result.test_mse, 5),
            "steps": steps,
            "seed": seed,
            "params": result.params,
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": f"python manage.py train_lstm --steps {steps} --seed {seed}",
            "torch": torch.__version__,
            "arrays_file": sequence_gates.ARRAYS_FILE,
            "arrays_sha256": arrays_sha256,
        },
    )


def sequence_arrays(weights_dir: Path = WEIGHTS_DIR) -> dict[str, np.ndarray]:
    """The committed LSTM's weights (``sequence_gates.ARRAY_NAMES``), verified
    against the record and read once per process."""
    path = weights_dir / sequence_gates.ARRAYS_FILE
    record = path.with_name(WEIGHTS_FILE).with_suffix(".json")

    def read() -> dict[str, np.ndarray]:
        try:
            sha256 = json.loads(record.read_text()).get("arrays_sha256")
            return sequence_gates.read_arrays(path, sha256)
        except (OSError, ValueError, sequence_gates.ArraysUnavailable) as exc:
            raise cnn_models.CnnModelUnavailable(
                gettext(
                    "The LSTM of the recurrent-networks lesson is missing or damaged "
                    "(%(error)s). Fix: `python manage.py train_lstm`."
                )
                % {"error": exc}
            ) from exc

    return loading.cached(("sequence-arrays", str(path)), read)


def _rounded(array: np.ndarray, digits: int = 4) -> list:
    return np.round(array.astype(np.float64), digits).tolist()


def gate_trace(*, kind: str, period: int, warmup: int) -> dict[str, Any]:
    """The forecaster run over a ``kind`` wave of ``period`` steps: per time step
    the input, the gates, the cell and hidden states (``T x 8``) and the prediction;
    after ``warmup`` steps it continues the wave on its own. Cached (it is public)."""
    key = f"lstm-gates:v2:{kind}:{period}:{warmup}"
    found = cache.get(key)
    if found is not None:
        return found
    wave = sequence_gates.make_wave(kind, TRACE_LENGTH + 1, period=period)
    trace = sequence_gates.run_gates(
        sequence_arrays(), wave[:TRACE_LENGTH], warmup=warmup
    )
    found = {
        "kind": kind,
        "period": period,
        "warmup": warmup,
        "units": int(trace.cell.shape[1]),
        "truth": _rounded(wave),  # the wave itself, one step longer than the trace
        "inputs": _rounded(trace.inputs),
        "predictions": _rounded(trace.predictions),
        "input_gate": _rounded(trace.input_gate),
        "forget_gate": _rounded(trace.forget_gate),
        "output_gate": _rounded(trace.output_gate),
        "candidate": _rounded(trace.candidate),
        "cell": _rounded(trace.cell),
        "hidden": _rounded(trace.hidden),
        "free_error": round(
            float(np.abs(trace.predictions[warmup - 1 :] - wave[warmup:]).mean()), 4
        ),
    }
    cache.set(key, found, 60 * 60 * 24)
    return found


# Routes: pages under /lessons/ (namespace "lessons"), API under /api/v1/ ("api").
page_urls: list = []
api_urls = [
    path("cnn/lstm-gates/", LstmGatesApi.as_view(), name="cnn-lstm-gates"),
]
