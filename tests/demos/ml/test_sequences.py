"""The recurrent-networks lesson's LSTM: waves, the gates replayed by hand against
nn.LSTM, the numpy replay (the API's, torch-free) against the torch one, the
committed weights (.pth and .npz), the train_lstm command and
/api/v1/cnn/lstm-gates/."""

from __future__ import annotations

import json
import threading
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.management import call_command
from django.test import Client

from demos.ml import networks, sequence_gates
from demos.ml.sequences import Forecaster, make_wave, run_gates, train_forecaster
from demos.widgets import lstm_gates
from models_store.registry import REGISTRY
from models_store.tracing import TRACING
from tests.conftest import REPO_DIR

WEIGHTS = REPO_DIR / "demos" / "ml" / "weights" / "sequence_lstm.pth"
URL = "/api/v1/cnn/lstm-gates/"


@pytest.fixture(scope="module")
def model() -> Forecaster:
    net = Forecaster()
    net.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    return net.eval()


def test_waves_have_the_period_and_range_asked_for() -> None:
    sine = make_wave("sine", 40, period=20)
    assert np.allclose(sine[:20], sine[20:], atol=1e-5)
    assert sine.max() <= 1 and sine.min() >= -1
    saw = make_wave("sawtooth", 10, period=5, amplitude=0.5)
    assert saw.tolist()[:5] == pytest.approx([-0.5, -0.3, -0.1, 0.1, 0.3])
    with pytest.raises(ValueError):
        make_wave("square", 10, period=5)


def test_gates_replayed_by_hand_give_nn_lstm_own_states(model: Forecaster) -> None:
    wave = make_wave("sawtooth", 50, period=17, phase=0.3)
    trace = run_gates(model, wave, warmup=len(wave))  # reads the true wave throughout
    with torch.inference_mode():
        out, (h_n, c_n) = model.lstm(torch.from_numpy(wave)[None, :, None])
        predictions = model.head(out)[0, :, 0].numpy()
    assert np.allclose(trace.hidden, out[0].numpy(), atol=1e-5)
    assert np.allclose(trace.cell[-1], c_n[0, 0].numpy(), atol=1e-5)
    assert np.allclose(trace.predictions, predictions, atol=1e-5)
    for gate in (trace.input_gate, trace.forget_gate, trace.output_gate):
        assert gate.shape == (50, 8) and gate.min() >= 0 and gate.max() <= 1
    # h = o * tanh(c), step by step
    assert np.allclose(trace.hidden, trace.output_gate * np.tanh(trace.cell), atol=1e-6)


def test_after_the_warm_up_the_lstm_reads_its_own_predictions(
    model: Forecaster,
) -> None:
    wave = make_wave("sine", 40, period=20)
    trace = run_gates(model, wave, warmup=30)
    assert np.allclose(trace.inputs[:30], wave[:30])
    assert np.allclose(trace.inputs[30:], trace.predictions[29:-1])


def test_lstm_runs_wait_while_a_trace_holds_the_guard(model: Forecaster) -> None:
    """The widget's replay and training hold TRACING shared: while a torch.fx
    trace holds it exclusively they wait, and every module call runs shared."""
    events: list[str] = []
    held_shared: list[bool] = []

    def record(module: torch.nn.Module, args: tuple) -> None:
        held_shared.append(TRACING._runs > 0 and not TRACING._tracing)

    def lstm_runs() -> None:
        run_gates(model, make_wave("sine", 30, period=15), warmup=10)
        train_forecaster(steps=2, batch_size=4)
        events.append("lstm ran")

    hook = torch.nn.modules.module.register_module_forward_pre_hook(record)
    try:
        with TRACING.exclusive():
            runner = threading.Thread(target=lstm_runs)
            runner.start()
            # Until the run is queued (or, unguarded, has run through the trace).
            while not TRACING._condition._waiters and runner.is_alive():
                time.sleep(0.001)
            events.append("trace ends")
        runner.join(30)
    finally:
        hook.remove()

    assert events == ["trace ends", "lstm ran"]
    assert held_shared and all(held_shared)


def test_the_committed_lstm_continues_a_sine_wave(model: Forecaster) -> None:
    wave = make_wave("sine", 73, period=24)
    trace = run_gates(model, wave[:72], warmup=56)
    next_step = np.abs(trace.predictions[:55] - wave[1:56]).mean()
    continued = np.abs(trace.predictions[55:] - wave[56:]).mean()
    assert next_step < 0.15 and continued < 0.3


def test_the_weights_are_small_recorded_and_in_the_catalogue() -> None:
    assert WEIGHTS.stat().st_size < 200_000
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert meta["params"] == 361 == REGISTRY["sequence-lstm"].params
    assert meta["test_mse"] < 0.05
    assert REGISTRY["sequence-lstm"].bundled == "demos/ml/weights/sequence_lstm.pth"


TRACE_FIELDS = (
    "inputs",
    "predictions",
    "input_gate",
    "forget_gate",
    "output_gate",
    "candidate",
    "cell",
    "hidden",
)


@pytest.mark.parametrize("kind", ["sine", "sawtooth"])
def test_the_numpy_replay_gives_the_torch_replays_trace(
    model: Forecaster, kind: str
) -> None:
    wave = make_wave(kind, 72, period=19, phase=0.2)
    expected = run_gates(model, wave, warmup=44)
    trace = sequence_gates.run_gates(lstm_gates.sequence_arrays(), wave, warmup=44)
    assert trace.warmup == 44
    for name in TRACE_FIELDS:
        got, want = getattr(trace, name), getattr(expected, name)
        assert got.shape == want.shape and got.dtype == np.float32, name
        assert np.allclose(got, want, atol=1e-5), name
    # Free-running from step 44: the replay reads its own predictions too.
    assert np.allclose(trace.inputs[44:], trace.predictions[43:-1])


def test_the_committed_npz_holds_the_pths_weights_and_is_recorded(
    model: Forecaster,
) -> None:
    npz = WEIGHTS.with_name("sequence_lstm.npz")
    meta = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert meta["arrays_file"] == npz.name
    assert meta["arrays_sha256"] == sequence_gates.sha256_of(npz)
    arrays = sequence_gates.read_arrays(npz, meta["arrays_sha256"])
    state = model.state_dict()
    assert set(arrays) == set(state)  # every weight, nothing else
    for name, value in state.items():
        assert np.array_equal(arrays[name], value.numpy()), name


def test_a_damaged_npz_is_refused_with_the_fix(tmp_path: Path) -> None:
    npz = WEIGHTS.with_name("sequence_lstm.npz")
    (tmp_path / npz.name).write_bytes(npz.read_bytes()[:-10] + b"0123456789")
    record = WEIGHTS.with_suffix(".json")
    (tmp_path / record.name).write_text(record.read_text())
    with pytest.raises(networks.CnnModelUnavailable, match="train_lstm"):
        lstm_gates.sequence_arrays(tmp_path)
    (tmp_path / npz.name).unlink()
    with pytest.raises(networks.CnnModelUnavailable, match="missing"):
        lstm_gates.sequence_arrays(tmp_path)


def test_the_loader_hands_out_the_committed_model(model: Forecaster) -> None:
    loaded = networks.get_sequence_lstm()
    assert not loaded.training
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)


def test_train_lstm_writes_weights_and_a_record(tmp_path: Path) -> None:
    out = StringIO()
    with pytest.raises(Exception, match="Above the allowed"):
        # Ten steps cannot learn the waves: the command refuses the result.
        call_command("train_lstm", "--steps", "10", "--out", str(tmp_path), stdout=out)
    assert (tmp_path / "sequence_lstm.pth").is_file()
    meta = json.loads((tmp_path / "sequence_lstm.json").read_text())
    assert meta["steps"] == 10 and len(meta["sha256"]) == 64
    # The same weights for the torch-free API, recorded beside the .pth's hash.
    written = torch.load(tmp_path / "sequence_lstm.pth", weights_only=True)
    arrays = sequence_gates.read_arrays(
        tmp_path / "sequence_lstm.npz", meta["arrays_sha256"]
    )
    for name, value in written.items():
        assert np.array_equal(arrays[name], value.numpy()), name


def test_the_api_returns_every_gate_per_time_step(client: Client, model) -> None:
    response = client.get(URL, {"kind": "sawtooth", "period": 16, "warmup": 40})
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]
    body = response.json()
    expected = run_gates(model, make_wave("sawtooth", 73, period=16)[:72], warmup=40)
    assert body["units"] == 8 and body["warmup"] == 40
    assert len(body["truth"]) == 73 and len(body["inputs"]) == 72
    for key in ("input_gate", "forget_gate", "output_gate", "cell"):
        assert np.allclose(body[key], getattr(expected, key), atol=1e-4), key
    assert np.allclose(body["predictions"], expected.predictions, atol=1e-4)


@pytest.mark.parametrize(
    "params", [{"kind": "square"}, {"period": 2}, {"warmup": 100}, {"period": "x"}]
)
def test_bad_settings_are_a_400(client: Client, params: dict) -> None:
    assert client.get(URL, params).status_code == 400
