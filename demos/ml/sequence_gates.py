"""The recurrent-networks lesson's LSTM without torch: the waves it reads, its
weights from a ``.npz`` and its gates step by step in numpy (pure: no Django, no
torch).

``demos.ml.sequences`` trains the ``Forecaster`` (``nn.LSTM(1, 8)`` + ``Linear(8,
1)``) on torch; ``manage.py train_lstm`` writes its weights twice, as the ``.pth``
and as ``sequence_lstm.npz`` (the arrays below, float32), and records both files'
SHA-256 in ``sequence_lstm.json``. The web worker reads only the ``.npz`` and runs
``run_gates`` here, so the widget never imports torch (670 MB of a worker's RSS);
the tests hold this trace against the torch one (``sequences.run_gates``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models_store.download import sha256_of

KINDS = ("sine", "sawtooth")
ARRAYS_FILE = "sequence_lstm.npz"
# PyTorch's names: weight_ih (4H x 1), weight_hh (4H x H), biases (4H), gates
# stacked in the order input, forget, cell candidate, output; the head (1 x H, 1).
ARRAY_NAMES = (
    "lstm.weight_ih_l0",
    "lstm.weight_hh_l0",
    "lstm.bias_ih_l0",
    "lstm.bias_hh_l0",
    "head.weight",
    "head.bias",
)


class ArraysUnavailable(RuntimeError):
    """The ``.npz`` is missing, damaged or not the one its record names."""


def make_wave(
    kind: str, length: int, *, period: float, phase: float = 0.0, amplitude: float = 1.0
) -> np.ndarray:
    """``length`` float32 samples of a wave in ``-amplitude..amplitude``.

    ``phase`` is a fraction of a period (0..1). A sawtooth rises linearly and
    drops back at the end of each period.

    >>> make_wave("sawtooth", 4, period=4).tolist()
    [-1.0, -0.5, 0.0, 0.5]
    """
    cycles = np.arange(length, dtype=np.float64) / period + phase
    if kind == "sine":
        wave = np.sin(2 * math.pi * cycles)
    elif kind == "sawtooth":
        wave = 2 * (cycles - np.floor(cycles)) - 1
    else:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return (amplitude * wave).astype(np.float32)


@dataclass(frozen=True)
class GateTrace:
    """One run through the LSTM, step by step; every array is ``T x HIDDEN``
    except ``inputs`` and ``predictions`` (``T``).

    Steps before ``warmup`` read the true wave; later steps read the model's own
    previous prediction (it continues the sequence on its own).
    """

    inputs: np.ndarray
    predictions: np.ndarray  # the prediction of the next value, after each step
    input_gate: np.ndarray
    forget_gate: np.ndarray
    output_gate: np.ndarray
    candidate: np.ndarray  # g = tanh(...), what may be written to the cell
    cell: np.ndarray
    hidden: np.ndarray
    warmup: int

    @classmethod
    def from_steps(
        cls,
        inputs: Sequence[Any],
        predictions: Sequence[Any],
        rows: dict[str, list[Any]],
        warmup: int,
    ) -> GateTrace:
        """The trace of per-step values (numpy arrays or scalars): ``rows`` holds
        each step's i, f, g, o, c and h under those letters. Both replays (this
        module's and the torch one in ``sequences``) assemble it here."""

        def stack(values: Sequence[Any]) -> np.ndarray:
            return np.stack([np.asarray(v) for v in values]).astype(np.float32)

        return cls(
            inputs=stack(inputs),
            predictions=stack(predictions),
            input_gate=stack(rows["i"]),
            forget_gate=stack(rows["f"]),
            output_gate=stack(rows["o"]),
            candidate=stack(rows["g"]),
            cell=stack(rows["c"]),
            hidden=stack(rows["h"]),
            warmup=warmup,
        )


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> str:
    """Save ``ARRAY_NAMES`` of ``arrays`` as float32 to ``path``; its SHA-256."""
    partial = path.with_suffix(".npz.part")
    as_float32 = {name: np.asarray(arrays[name], np.float32) for name in ARRAY_NAMES}
    with partial.open("wb") as handle:
        np.savez(handle, **as_float32)  # type: ignore[arg-type]
    partial.replace(path)
    return sha256_of(path)


def read_arrays(path: Path, sha256: str | None) -> dict[str, np.ndarray]:
    """The arrays of ``path`` if its SHA-256 is ``sha256``, as the ``.pth`` is
    checked against its record; ``ArraysUnavailable`` otherwise."""
    if not path.is_file():
        raise ArraysUnavailable(f"{path.name} is missing")
    if sha256 is None or sha256_of(path) != sha256:
        raise ArraysUnavailable(f"{path.name}: SHA-256 differs from its record")
    with np.load(path, allow_pickle=False) as data:
        missing = [name for name in ARRAY_NAMES if name not in data]
        if missing:
            raise ArraysUnavailable(f"{path.name} lacks {', '.join(missing)}")
        return {name: np.asarray(data[name], np.float32) for name in ARRAY_NAMES}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def run_gates(
    arrays: dict[str, np.ndarray], wave: np.ndarray, *, warmup: int
) -> GateTrace:
    """Run the LSTM of ``arrays`` on ``wave`` (length T) one step at a time:

        gates = W_ih x_t + b_ih + W_hh h_(t-1) + b_hh;  i, f, g, o = chunks of 4
        c_t = sigmoid(f) * c_(t-1) + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t);  prediction = head(h_t)

    The first ``warmup`` inputs are the wave's values; after that each input is
    the previous prediction. float32 throughout, as torch computes it.
    """
    w_ih = arrays["lstm.weight_ih_l0"][:, 0]
    w_hh = arrays["lstm.weight_hh_l0"]
    bias = arrays["lstm.bias_ih_l0"] + arrays["lstm.bias_hh_l0"]
    head_w, head_b = arrays["head.weight"][0], arrays["head.bias"][0]
    hidden_size = w_hh.shape[1]
    h = np.zeros(hidden_size, np.float32)
    c = np.zeros(hidden_size, np.float32)
    rows: dict[str, list[np.ndarray]] = {k: [] for k in "ifgoch"}
    inputs: list[np.float32] = []
    predictions: list[np.float32] = []
    x = np.float32(wave[0])
    for t in range(len(wave)):
        if t > 0:
            x = np.float32(wave[t]) if t < warmup else predictions[-1]
        gates = w_ih * x + w_hh @ h + bias
        raw_i, raw_f, raw_g, raw_o = np.split(gates, 4)
        i, f, o = _sigmoid(raw_i), _sigmoid(raw_f), _sigmoid(raw_o)
        g = np.tanh(raw_g)
        c = f * c + i * g
        h = o * np.tanh(c)
        inputs.append(x)
        predictions.append(np.float32(head_w @ h + head_b))
        for key, value in zip("ifgoch", (i, f, g, o, c, h), strict=True):
            rows[key].append(value)

    return GateTrace.from_steps(inputs, predictions, rows, warmup)
