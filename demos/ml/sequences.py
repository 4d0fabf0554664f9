"""The small LSTM of the recurrent-networks lesson, its data and its gates (pure:
no Django).

The data is made by ``demos.ml.sequence_gates`` (torch-free, as the widget's
numpy replay of the gates is): waves (sine or sawtooth) with a random period, phase and
amplitude, ``SEQUENCE_LENGTH`` steps long. ``Forecaster`` (the lesson's own code:
``nn.LSTM(1, 8)`` and a linear head) learns to predict the next value from the
ones before it. ``run_gates`` replays the trained LSTM one step at a time from its
stacked weights (PyTorch's order: input, forget, cell candidate, output) so the
tests can hold the widget's numpy replay (``sequence_gates.run_gates``) against
it, and it against ``nn.LSTM`` itself; ``lstm_arrays`` gives the weights that
replay reads. Training is deterministic for a fixed seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from demos.ml.sequence_gates import ARRAY_NAMES, KINDS, GateTrace, make_wave
from models_store.tracing import TRACING

__all__ = [  # the waves and the trace live in sequence_gates; read here too
    "KINDS",
    "Forecaster",
    "GateTrace",
    "SequenceTraining",
    "lstm_arrays",
    "make_wave",
    "rollout",
    "run_gates",
    "train_forecaster",
    "training_batch",
]

HIDDEN = 8
SEQUENCE_LENGTH = 80
PERIOD_RANGE = (12, 40)  # steps per cycle seen in training


class Forecaster(nn.Module):
    """Next-value predictor: ``nn.LSTM(1, HIDDEN, batch_first=True)`` → ``Linear``.

    Input ``N x T x 1``; output ``N x T x 1``, the prediction of step ``t + 1``.
    """

    def __init__(self, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        out, _state = self.lstm(seq)
        return self.head(out)


def training_batch(count: int, generator: np.random.Generator) -> torch.Tensor:
    """``count`` random waves (both kinds, any period in ``PERIOD_RANGE``),
    ``count x SEQUENCE_LENGTH x 1``."""
    waves = [
        make_wave(
            KINDS[int(generator.integers(len(KINDS)))],
            SEQUENCE_LENGTH,
            period=float(generator.uniform(*PERIOD_RANGE)),
            phase=float(generator.uniform()),
            amplitude=float(generator.uniform(0.6, 1.0)),
        )
        for _ in range(count)
    ]
    return torch.from_numpy(np.stack(waves))[:, :, None]


@dataclass(frozen=True)
class SequenceTraining:
    steps: int
    seed: int
    test_mse: float  # next-step MSE on fresh waves
    params: int


def rollout(model: Forecaster, batch: torch.Tensor, warmup: int) -> torch.Tensor:
    """Predictions for steps 1..T-1 of ``batch`` (``N x T x 1``): the first
    ``warmup`` read the wave, the rest read the model's own previous prediction."""
    out, state = model.lstm(batch[:, :warmup])
    predictions = [model.head(out)]
    x = predictions[0][:, -1:]
    for _ in range(warmup, batch.shape[1] - 1):
        out, state = model.lstm(x, state)
        x = model.head(out)
        predictions.append(x)
    return torch.cat(predictions, dim=1)


def train_forecaster(
    *, steps: int = 4000, seed: int = 0, batch_size: int = 64
) -> tuple[Forecaster, SequenceTraining]:
    """Train ``Forecaster`` with Adam on freshly made waves; ends in eval mode.

    The loss is half the next-step error with the true wave as input plus the
    error of a free-running continuation after a random warm-up (24..55 steps):
    trained only on the first, a network drifts off as soon as it reads its own
    predictions. The first eighth of the steps use the next-step error alone.
    """
    torch.manual_seed(seed)
    generator = np.random.default_rng(seed)
    model = Forecaster()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=1500, gamma=0.3)
    for step in range(steps):
        batch = training_batch(batch_size, generator)
        with TRACING:  # per step, so a trace waits one step at most
            loss = F.mse_loss(model(batch[:, :-1]), batch[:, 1:])
            if step >= steps // 8:
                warmup = int(generator.integers(24, 56))
                free = F.mse_loss(rollout(model, batch, warmup), batch[:, 1:])
                loss = 0.5 * loss + free
            optimiser.zero_grad()
            loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimiser.step()
        scheduler.step()
    model.eval()
    test = training_batch(256, np.random.default_rng(seed + 1))
    with TRACING, torch.inference_mode():
        test_mse = float(F.mse_loss(model(test[:, :-1]), test[:, 1:]))
    params = sum(p.numel() for p in model.parameters())
    return model, SequenceTraining(steps, seed, test_mse, params)


def run_gates(model: Forecaster, wave: np.ndarray, *, warmup: int) -> GateTrace:
    """Replay the LSTM on ``wave`` (length T) one step at a time, by hand:

        gates = W_ih x_t + b_ih + W_hh h_(t-1) + b_hh;  i, f, g, o = chunks of 4
        c_t = sigmoid(f) * c_(t-1) + sigmoid(i) * tanh(g)
        h_t = sigmoid(o) * tanh(c_t);  prediction = head(h_t)

    The first ``warmup`` inputs are the wave's values; after that each input is
    the previous prediction.
    """
    # Attribute reads too: the tracer patches nn.Module.__getattr__ as well.
    with TRACING, torch.inference_mode():
        lstm = model.lstm
        # nn.LSTM registers these by name: typed as Tensor | Module for mypy.
        w_ih, w_hh = lstm.weight_ih_l0.detach(), lstm.weight_hh_l0.detach()  # type: ignore[operator]
        bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()  # type: ignore[operator]
        hidden_size = lstm.hidden_size
        h = torch.zeros(hidden_size)
        c = torch.zeros(hidden_size)
        rows: dict[str, list[torch.Tensor]] = {k: [] for k in "ifgoch"}
        inputs: list[torch.Tensor] = []
        predictions: list[torch.Tensor] = []
        x = torch.tensor(float(wave[0]))
        for t in range(len(wave)):
            if t > 0:
                x = torch.tensor(float(wave[t])) if t < warmup else predictions[-1]
            gates = w_ih[:, 0] * x + w_hh @ h + bias
            raw_i, raw_f, raw_g, raw_o = gates.chunk(4)
            i, f, o = torch.sigmoid(raw_i), torch.sigmoid(raw_f), torch.sigmoid(raw_o)
            g = torch.tanh(raw_g)
            c = f * c + i * g
            h = o * torch.tanh(c)
            inputs.append(x)
            predictions.append(model.head(h)[0])
            for key, value in zip("ifgoch", (i, f, g, o, c, h), strict=True):
                rows[key].append(value)

    return GateTrace.from_steps(
        [x.numpy() for x in inputs],
        [p.numpy() for p in predictions],
        {key: [v.numpy() for v in values] for key, values in rows.items()},
        warmup,
    )


def lstm_arrays(model: Forecaster) -> dict[str, np.ndarray]:
    """The trained weights as float32 arrays under their state-dict names
    (``sequence_gates.ARRAY_NAMES``): what the torch-free widget reads."""
    state = model.state_dict()
    return {
        name: state[name].detach().numpy().astype(np.float32) for name in ARRAY_NAMES
    }
