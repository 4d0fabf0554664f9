"""Every "Show the PyTorch code" snippet runs as a student would copy it.

Each file in templates/demos/widgets/pytorch/ is executed with ``exec`` in a
namespace holding only the few names the snippet takes from the page around it
(the image, the slider values, the data), kept small so the whole file runs in
a few seconds on a CPU. A new snippet without an entry in ``PAGE_NAMES`` and
``CHECKS`` fails here, so nothing shown on a page goes unrun.

Two things cannot come from the network in a test: torchvision's ImageNet
weights (the snippets' printed shapes and parameter counts do not depend on
their values, so a freshly initialised model of the same architecture stands
in) and the YOLOX-nano ONNX file (a two-node graph with the same input name and
the same inner tensor name "781" stands in; what is tested is the technique of
making an inner tensor a graph output).
"""

from __future__ import annotations

import functools
import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from demos.ml.digits import DigitsCNN, digits_to_tensor, load_digits_split, load_state

REPO = Path(__file__).resolve().parents[3]
SNIPPETS = sorted((REPO / "templates/demos/widgets/pytorch").glob("*.txt"))
WEIGHTS = REPO / "demos/ml/weights"

Namespace = dict[str, Any]


@functools.cache
def _digits() -> Any:
    return load_digits_split()


def _trained_digits_cnn() -> DigitsCNN:
    model = DigitsCNN()
    load_state(model, WEIGHTS / "digits_cnn.pth", WEIGHTS / "digits_cnn.json")
    return model.eval()


def _activations() -> Namespace:
    data = _digits()
    return {
        "model": _trained_digits_cnn(),
        "image": digits_to_tensor(data.test_images[:1]),
    }


def _augmentation() -> Namespace:
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, 200, 240), dtype=torch.uint8, generator=generator)
    return {"image": image}


def _autoencoder() -> Namespace:
    data = _digits()
    pixels = torch.from_numpy(data.train_images[:64].reshape(-1, 64) / 16.0)
    loader = torch.utils.data.DataLoader(pixels, batch_size=32)  # 2 batches an epoch
    return {
        "loader": loader,
        "test_pixels": torch.from_numpy(data.test_images[:40].reshape(-1, 64) / 16.0),
    }


def _draw_digit() -> Namespace:
    data = _digits()
    return {
        "drawing_32x32": digits_to_tensor(data.test_images[:1]),
        "label": int(data.test_labels[0]),
    }


def _feature_maps() -> Namespace:
    return {
        "image_tensor": torch.randn(1, 3, 224, 224),
        "letterboxed": np.random.default_rng(0).random(
            (1, 3, 64, 64), dtype=np.float32
        ),
    }


def _lstm_gates() -> Namespace:
    from demos.ml.sequences import make_wave

    return {"wave": torch.from_numpy(make_wave("sine", 40, period=20))}


def _training_curves() -> Namespace:
    data = _digits()
    return {
        "learning_rate": 0.05,
        "dropout": 0.2,
        "weight_decay": 1e-4,
        "optimizer_name": "momentum",
        "epochs": 3,
        "use_augmentation": True,
        "train_x": torch.from_numpy(data.train_images[:100].reshape(-1, 64) / 16.0),
        "train_y": torch.from_numpy(data.train_labels[:100]),
        "val_x": torch.from_numpy(data.test_images[:100].reshape(-1, 64) / 16.0),
        "val_y": torch.from_numpy(data.test_labels[:100]),
    }


#: What each snippet takes from its page, by file name.
PAGE_NAMES: dict[str, Callable[[], Namespace]] = {
    "activations.txt": _activations,
    "architectures.txt": dict,
    "augmentation.txt": _augmentation,
    "autoencoder-tsne.txt": _autoencoder,
    "conv-steps.txt": dict,
    "draw-digit.txt": _draw_digit,
    "feature-maps.txt": _feature_maps,
    "lstm-gates.txt": _lstm_gates,
    "training-curves.txt": _training_curves,
    "transfer-learning.txt": dict,
    "vision-tasks.txt": dict,
}


def _check_activations(ns: Namespace, out: str) -> None:
    assert ns["x"].shape == (1, 6, 32, 32)
    assert (ns["x"] < 0).any() and (ns["relu"] >= 0).all()
    assert not torch.allclose(
        ns["y_train"], ns["y_eval"]
    )  # batch vs running statistics
    assert torch.equal(ns["z_eval"], ns["relu"])
    kept = ns["z_train"][ns["relu"] > 0]
    assert torch.allclose(kept[kept != 0], 2 * ns["relu"][ns["relu"] > 0][kept != 0])


def _check_architectures(ns: Namespace, out: str) -> None:
    lines = out.splitlines()
    assert lines[0] == "25557032"
    assert lines[1].startswith("4.08") or lines[1].startswith("4.09")
    assert lines[2:] == ["1180672", "70400"]


def _check_augmentation(ns: Namespace, out: str) -> None:
    assert ns["augmented"].shape == (3, 160, 160)
    assert ns["augmented"].dtype == torch.float32
    assert float(ns["augmented"].min()) >= 0.0 and float(ns["augmented"].max()) <= 1.0
    assert ns["digits"](torch.zeros(1, 8, 8, dtype=torch.uint8)).shape == (1, 8, 8)


def _check_autoencoder(ns: Namespace, out: str) -> None:
    assert math.isfinite(ns["loss"].item())
    assert ns["codes"].shape == (40, 8)
    assert ns["points"].shape == (40, 2)


def _check_conv_steps(ns: Namespace, out: str) -> None:
    assert (
        "[[[[4., 3., 4.]" in out and "[2., 4., 3.]" in out and "[2., 3., 4.]]]]" in out
    )


def _check_draw_digit(ns: Namespace, out: str) -> None:
    probabilities = ns["probabilities"]
    assert probabilities.shape == (1, 10)
    assert torch.allclose(probabilities.sum(), torch.tensor(1.0))
    assert (
        out.strip() == f"tensor([{ns['label']}])"
    )  # the trained model reads the digit


def _check_feature_maps(ns: Namespace, out: str) -> None:
    assert out.splitlines()[0] == "torch.Size([1, 64, 56, 56])"
    assert ns["pictures"].shape == (64, 56, 56)
    assert float(ns["pictures"].min()) >= 0 and float(ns["pictures"].max()) <= 1
    assert sorted(ns["strongest"].tolist()) == list(range(64))
    assert ns["dark3"].shape == (1, 64, 8, 8)  # the inner tensor of the stand-in graph


def _check_lstm_gates(ns: Namespace, out: str) -> None:
    # The hand-written step gives what nn.LSTM computes for the whole wave.
    with torch.inference_mode():
        hidden, _ = ns["lstm"](ns["wave"].view(1, -1, 1))
        expected = ns["head"](hidden[0, -1])
    assert torch.allclose(ns["prediction"], expected, atol=1e-5)
    assert ns["prediction"].shape == (1,)


def _check_training_curves(ns: Namespace, out: str) -> None:
    assert isinstance(ns["train_loss"], float) and math.isfinite(ns["train_loss"])
    assert isinstance(ns["val_loss"], float) and math.isfinite(ns["val_loss"])
    assert ns["train_loss"] < math.log(10)  # it learned something in 3 epochs
    assert isinstance(ns["optimiser"], torch.optim.SGD)


def _check_transfer_learning(ns: Namespace, out: str) -> None:
    assert out.splitlines()[0] == "67,617 trainable"
    assert ns["model"].fc.out_features == 33
    assert [len(group["params"]) for group in ns["optimizer"].param_groups] == [2, 0]
    assert not ns["model"].bn1.training and ns["model"].training


def _check_vision_tasks(ns: Namespace, out: str) -> None:
    assert ns["out"].shape == (1, 7, 7, 30)
    assert 0 < ns["iou"].item() < 1
    assert out.startswith("torch.Size([1, 7, 7, 30])")


#: What a student sees when the snippet runs, by file name.
CHECKS: dict[str, Callable[[Namespace, str], None]] = {
    "activations.txt": _check_activations,
    "architectures.txt": _check_architectures,
    "augmentation.txt": _check_augmentation,
    "autoencoder-tsne.txt": _check_autoencoder,
    "conv-steps.txt": _check_conv_steps,
    "draw-digit.txt": _check_draw_digit,
    "feature-maps.txt": _check_feature_maps,
    "lstm-gates.txt": _check_lstm_gates,
    "training-curves.txt": _check_training_curves,
    "transfer-learning.txt": _check_transfer_learning,
    "vision-tasks.txt": _check_vision_tasks,
}


def _untrained_imagenet_weights(
    url: str, *args: Any, **kwargs: Any
) -> dict[str, torch.Tensor]:
    """Stands in for torchvision's download: same architecture, random values."""
    from torchvision import models

    name = url.rsplit("/", 1)[-1].split("-")[
        0
    ]  # ".../resnet50-11ad3fa6.pth" -> resnet50
    return getattr(models, name)(weights=None).state_dict()


def _stand_in_yolox(path: Path) -> None:
    """A graph with YOLOX's input name whose inner tensor "781" is not an output."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(
        rng.standard_normal((64, 3, 8, 8)).astype(np.float32), "w"
    )
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["images", "w"], ["781"], strides=[8, 8]),
            helper.make_node("GlobalAveragePool", ["781"], ["output"]),
        ],
        "stand_in",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 64, 1, 1])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def test_every_snippet_has_page_names_and_a_check() -> None:
    names = [path.name for path in SNIPPETS]
    assert sorted(PAGE_NAMES) == names
    assert sorted(CHECKS) == names


@pytest.mark.parametrize("path", SNIPPETS, ids=lambda p: p.stem)
def test_snippet_runs(
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert path.name in PAGE_NAMES, f"{path.name}: add the names it takes from the page"
    assert path.name in CHECKS, f"{path.name}: add what a student sees when it runs"
    # Files a snippet opens by name lie in the current directory, as for a student.
    monkeypatch.chdir(tmp_path)
    for name in ("digits_cnn.pth", "sequence_lstm.pth"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    _stand_in_yolox(tmp_path / "yolox_nano.onnx")
    monkeypatch.setattr(
        "torchvision.models._api.load_state_dict_from_url", _untrained_imagenet_weights
    )
    torch.manual_seed(0)

    namespace: Namespace = {"__name__": "__snippet__", **PAGE_NAMES[path.name]()}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # noqa: S102 - our own file

    CHECKS[path.name](namespace, capsys.readouterr().out)
