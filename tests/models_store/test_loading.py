"""models_store/loading.py: one cache, one lock, sessions and modules built once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models_store import loading, store
from models_store.download import WeightsUnavailable, sha256_of
from models_store.registry import REGISTRY, REPO_DIR, register
from portal.lib.errors import ServiceUnavailable

YOLOX_DARK3 = "781"  # an intermediate tensor of yolox_nano.onnx (64 x 52 x 52)


def in_threads(count: int, work) -> list:
    """Run ``work()`` in ``count`` threads released together; results in any order."""
    barrier = threading.Barrier(count)
    results: list = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_cached_builds_once_for_sixteen_concurrent_first_callers() -> None:
    calls: list[int] = []

    def build() -> object:
        calls.append(1)
        return object()

    results = in_threads(16, lambda: loading.cached(("test", "once"), build))
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1
    loading.clear_cache()
    assert loading.cached(("test", "once"), build) is not results[0]
    assert len(calls) == 2


def test_recent_keeps_only_the_last_few_models_used() -> None:
    """One model per student's run: built again once forgotten, never all kept."""
    built: list[str] = []

    def get(name: str) -> object:
        return loading.recent(
            ("run", name), lambda: built.append(name) or object(), keep=2
        )

    first = get("a")
    assert get("a") is first
    get("b")
    get("a")  # now the most recent: "b" is the one to go
    get("c")
    assert built == ["a", "b", "c"]
    assert get("a") is first
    get("b")
    assert built == ["a", "b", "c", "b"]
    assert len(loading._recent) == 2
    loading.clear_cache()
    assert not loading._recent


def test_an_onnx_session_is_built_once_and_runs(models_ready) -> None:
    session = loading.onnx_session("yolox-nano")
    assert loading.onnx_session("yolox-nano") is session
    (output,) = session.run(None, {"images": np.zeros((1, 3, 416, 416), np.float32)})
    assert output.shape == (1, 3549, 85)


def test_extra_outputs_return_intermediate_tensors_after_the_model_outputs(
    models_ready,
) -> None:
    plain = loading.onnx_session("yolox-nano")
    session = loading.onnx_session("yolox-nano", extra_outputs=[YOLOX_DARK3])
    assert session is not plain
    assert [o.name for o in session.get_outputs()][-1] == YOLOX_DARK3
    (dark3,) = session.run(
        [YOLOX_DARK3], {"images": np.zeros((1, 3, 416, 416), np.float32)}
    )
    assert dark3.shape == (1, 64, 52, 52)


def test_an_unknown_tensor_name_is_a_graph_mismatch(models_ready) -> None:
    with pytest.raises(loading.GraphMismatch, match="no-such-tensor") as caught:
        loading.onnx_session("fastestdet", extra_outputs=["no-such-tensor"])
    assert isinstance(caught.value, ServiceUnavailable)


def test_onnx_initializers_are_the_graphs_weights(models_ready) -> None:
    weights = loading.onnx_initializers("fastestdet", ["onnx::Conv_760", "nope"])
    assert list(weights) == ["onnx::Conv_760"]
    assert weights["onnx::Conv_760"].shape == (24, 3, 3, 3)


def test_a_missing_file_raises_weights_unavailable_with_the_fix(empty_store) -> None:
    with pytest.raises(WeightsUnavailable, match="models pull yolox-nano"):
        loading.onnx_session("yolox-nano")
    with pytest.raises(WeightsUnavailable, match="models pull resnet18"):
        loading.torch_module("resnet18")


def test_runtime_and_family_mismatches_are_refused(models_ready) -> None:
    with pytest.raises(ValueError, match="not an onnx model"):
        loading.onnx_session("resnet18")
    with pytest.raises(ValueError, match="not a torch model"):
        loading.torch_module("yolox-nano")
    with pytest.raises(ValueError, match="pass build="):
        loading.torch_module("digits-cnn")


@pytest.fixture
def random_mobilenet(tmp_path: Path, empty_store: Path, registered) -> Path:
    """A randomly initialised MobileNetV3 file, registered and imported as a spec."""
    import torch
    import torchvision

    torch.manual_seed(0)
    path = tmp_path / "mobilenet_random.pth"
    torch.save(torchvision.models.mobilenet_v3_large(weights=None).state_dict(), path)
    digest = sha256_of(path)
    register(
        replace(
            REGISTRY["mobilenet_v3_large"],
            key="test-mobilenet",
            filename=f"mobilenet_random-{digest[:8]}.pth",
            url=None,
            sha256=digest,
            sha256_is_prefix=False,
        )
    )
    registered.append("test-mobilenet")
    store.import_path(path, record=False)
    return path


def test_a_torchvision_module_loads_its_file_in_eval_mode_once(
    random_mobilenet: Path,
) -> None:
    import torch

    model = loading.torch_module("test-mobilenet")
    assert not model.training
    saved = torch.load(random_mobilenet, map_location="cpu", weights_only=True)
    first = "features.0.0.weight"
    assert torch.equal(model.state_dict()[first], saved[first])
    assert loading.torch_module("test-mobilenet") is model


def test_the_bundled_digits_cnn_loads_from_the_committed_file(empty_store) -> None:
    import torch
    from torch import nn

    def build() -> nn.Module:
        torch.manual_seed(1)
        return nn.Sequential()  # wrong architecture: load_state_dict must refuse it

    with pytest.raises(RuntimeError, match="Unexpected key"):
        loading.torch_module("digits-cnn", build=build)

    from demos.ml.digits import DigitsCNN

    model = loading.torch_module("digits-cnn", build=DigitsCNN)
    assert isinstance(model, DigitsCNN) and not model.training
    saved = torch.load(
        REPO_DIR / REGISTRY["digits-cnn"].bundled, map_location="cpu", weights_only=True
    )
    assert torch.equal(model.conv1.weight, saved["conv1.weight"])


def test_bundled_files_are_ready_without_an_import(empty_store) -> None:
    for key in ("digits-cnn", "digits-autoencoder"):
        state = store.model_state(key)
        assert state.state == "ready" and state.is_available
        sidecar = REPO_DIR / str(REGISTRY[key].sha256_sidecar)
        recorded = json.loads(sidecar.read_text())
        assert sha256_of(state.path) == recorded["sha256"]


def test_a_bundled_file_that_differs_from_its_record_is_corrupt(
    tmp_path: Path, registered
) -> None:
    weights = tmp_path / "digits_cnn.pth"
    weights.write_bytes(b"not the trained weights")
    sidecar = tmp_path / "digits_cnn.json"
    sidecar.write_text(json.dumps({"sha256": "0" * 64}))
    register(
        replace(
            REGISTRY["digits-cnn"],
            key="test-digits",
            bundled=str(weights),
            sha256_sidecar=str(sidecar),
        )
    )
    registered.append("test-digits")
    state = store.model_state("test-digits")
    assert state.state == "corrupt"
    assert state.fix == "python manage.py train_digits"
    with pytest.raises(WeightsUnavailable, match="train_digits"):
        loading.torch_module("test-digits", build=lambda: None)
    weights.unlink()
    assert store.model_state("test-digits").state == "missing"


def test_the_loader_imports_no_runtime_and_nothing_from_demos() -> None:
    code = (
        "import sys, models_store.loading; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'torchvision', 'onnx', 'onnxruntime', 'demos'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
