"""The digits CNN and its autoencoder in torch: their training (pure: no Django).

The data is scikit-learn's handwritten digits (``load_digits``, shipped with the
library, no download); what the network sees (a drawing or a data-set image made
into 1x32x32) is prepared in ``demos.ml.digits_input`` without torch, and the web
worker runs the committed network in numpy (``demos.ml.digits_numpy``). This module
is the training side: ``DigitsCNN`` is LeNet-5 with batch norm and dropout added
(about 83 k parameters; its children are ``digits_numpy.LAYERS``);
``DigitsAutoencoder`` is a small fully connected autoencoder of the 64 pixels.
Training functions are deterministic for a fixed seed. This module must not import
Django.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from demos.ml.bundled import WEIGHTS_DIR
from demos.ml.digits_input import (  # noqa: F401  (the training's input, too)
    DATA_MAX,
    DATA_SIZE,
    INPUT_SIZE,
    NoDigitFound,
    prepare_drawn_digit,
)
from demos.ml.digits_numpy import (  # noqa: F401
    FEATURE_LAYERS,
    LAYERS,
    NUMPY_WEIGHTS,
)
from demos.ml.tsne_maps import (  # noqa: F401  (digits' own names too)
    TSNE_FILE,
    TSNE_PERPLEXITIES,
    TSNE_PERPLEXITY,
    neighbour_agreement,
    tsne_views,
)
from models_store.download import sha256_of

CNN_WEIGHTS = WEIGHTS_DIR / "digits_cnn.pth"
CNN_META = WEIGHTS_DIR / "digits_cnn.json"
AUTOENCODER_WEIGHTS = WEIGHTS_DIR / "digits_autoencoder.pth"
AUTOENCODER_META = WEIGHTS_DIR / "digits_autoencoder.json"

TEST_FRACTION = 0.2
SPLIT_SEED = 0  # fixed split: the test set is the same in training and in the lessons


class DigitsCNN(nn.Module):
    """LeNet-5 shaped CNN for 1x32x32 digits, with batch norm and dropout.

    conv1 5x5 (pad 2) 6x32x32 → pool 6x16x16 → conv2 5x5 16x12x12 → pool 16x6x6
    → fc1 120 → fc2 84 → fc3 10 logits.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.bn1 = nn.BatchNorm2d(6)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.bn2 = nn.BatchNorm2d(16)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(16 * 6 * 6, 120)
        self.relu3 = nn.ReLU()
        self.dropout = nn.Dropout(0.3)
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 84-d vector before the last layer (used for the t-SNE map)."""
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = self.dropout(self.relu3(self.fc1(self.flatten(x))))
        return self.relu4(self.fc2(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.features(x))


class DigitsAutoencoder(nn.Module):
    """64 pixels → 32 → 8-d code → 32 → 64 pixels in 0..1 (a fully connected AE)."""

    def __init__(self, code_size: int = 8) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, code_size)
        )
        self.decoder = nn.Sequential(
            nn.Linear(code_size, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


@dataclass(frozen=True)
class DigitsData:
    """The fixed train/test split of ``load_digits``: images N x 8 x 8 float 0..16."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def load_digits_split(seed: int = SPLIT_SEED) -> DigitsData:
    """Stratified 80/20 split of scikit-learn's digits; same split for every caller."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        data.images.astype(np.float32),
        data.target.astype(np.int64),
        test_size=TEST_FRACTION,
        random_state=seed,
        stratify=data.target,
    )
    return DigitsData(x_train, y_train, x_test, y_test)


def digits_to_tensor(images: np.ndarray) -> torch.Tensor:
    """N x 8 x 8 (or 8 x 8) values 0..16 → float tensor N x 1 x 32 x 32 in 0..1.

    Bilinear upsampling: the same for the data set and for drawings.
    """
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 2:
        array = array[None]
    tensor = torch.from_numpy(array / DATA_MAX).unsqueeze(1)
    return F.interpolate(
        tensor, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False
    )


def augment_batch(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random rotations (±12°), scales (0.9–1.1), shifts (±2 px) and pen widths.

    ``batch``: N x 1 x H x W. Drawings are re-centred and re-scaled before
    prediction, so only mild jitter is needed to cover how differently people write.
    """
    count = batch.shape[0]
    angle = (torch.rand(count, generator=generator) * 2 - 1) * np.deg2rad(12)
    scale = 1 + (torch.rand(count, generator=generator) * 2 - 1) * 0.1
    shift = (torch.rand(count, 2, generator=generator) * 2 - 1) * (2 / INPUT_SIZE * 2)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos, -sin, shift[:, 0]], dim=1),
            torch.stack([sin, cos, shift[:, 1]], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    moved = F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")
    # Pens differ: a third of the batch gets thicker strokes, a third thinner ones.
    pen = torch.randint(0, 3, (count,), generator=generator)
    thicker = F.max_pool2d(moved, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-moved, 3, stride=1, padding=1)
    pen = pen.view(-1, 1, 1, 1)
    return torch.where(pen == 1, thicker, torch.where(pen == 2, thinner, moved))


@dataclass(frozen=True)
class TrainingResult:
    """What ``train_digits_cnn`` / ``train_autoencoder`` report."""

    epochs: int
    seed: int
    test_accuracy: float  # fraction of the test set classified right (CNN only)
    test_loss: float
    train_size: int
    test_size: int
    params: int


def _seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    return torch.Generator().manual_seed(seed)


def evaluate_cnn(model: DigitsCNN, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` (N x 8 x 8, 0..16) classified as ``labels``."""
    model.eval()
    with torch.inference_mode():
        predictions = model(digits_to_tensor(images)).argmax(dim=1).numpy()
    return float((predictions == labels).mean())


def train_digits_cnn(
    data: DigitsData, *, epochs: int = 20, seed: int = 0, batch_size: int = 64
) -> tuple[DigitsCNN, TrainingResult]:
    """Train ``DigitsCNN`` with Adam and augmentation; the model ends in eval mode."""
    generator = _seed_everything(seed)
    model = DigitsCNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    inputs = digits_to_tensor(data.train_images)
    targets = torch.from_numpy(data.train_labels)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = augment_batch(inputs[index], generator)
            loss = F.cross_entropy(model(batch), targets[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        scheduler.step()
    model.eval()
    with torch.inference_mode():
        test_logits = model(digits_to_tensor(data.test_images))
        test_loss = F.cross_entropy(test_logits, torch.from_numpy(data.test_labels))
    result = TrainingResult(
        epochs=epochs,
        seed=seed,
        test_accuracy=evaluate_cnn(model, data.test_images, data.test_labels),
        test_loss=float(test_loss),
        train_size=len(data.train_images),
        test_size=len(data.test_images),
        params=sum(p.numel() for p in model.parameters()),
    )
    return model, result


def train_autoencoder(
    data: DigitsData, *, epochs: int = 100, seed: int = 0, batch_size: int = 128
) -> tuple[DigitsAutoencoder, TrainingResult]:
    """Train ``DigitsAutoencoder`` (MSE on pixels scaled to 0..1); eval mode."""
    generator = _seed_everything(seed)
    model = DigitsAutoencoder()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    inputs = torch.from_numpy(data.train_images.reshape(-1, 64) / DATA_MAX)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(order), batch_size):
            batch = inputs[order[start : start + batch_size]]
            loss = F.mse_loss(model(batch), batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    model.eval()
    with torch.inference_mode():
        test = torch.from_numpy(data.test_images.reshape(-1, 64) / DATA_MAX)
        test_loss = float(F.mse_loss(model(test), test))
    result = TrainingResult(
        epochs=epochs,
        seed=seed,
        test_accuracy=float("nan"),
        test_loss=test_loss,
        train_size=len(data.train_images),
        test_size=len(data.test_images),
        params=sum(p.numel() for p in model.parameters()),
    )
    return model, result


def reconstruct(model: DigitsAutoencoder, images: np.ndarray) -> np.ndarray:
    """N x 8 x 8 (0..16) → the autoencoder's reconstructions, N x 8 x 8 (0..16)."""
    flat = torch.from_numpy(np.asarray(images, np.float32).reshape(-1, 64) / DATA_MAX)
    with torch.inference_mode():
        out = model(flat).numpy()
    return (out * DATA_MAX).reshape(-1, DATA_SIZE, DATA_SIZE)


def feature_sets(
    cnn: DigitsCNN, autoencoder: DigitsAutoencoder, images: np.ndarray
) -> dict[str, np.ndarray]:
    """Three descriptions of N digits for the t-SNE map, each N x D float32.

    "pixels": the 64 raw pixels; "autoencoder": the 8-d code learnt without labels;
    "cnn": the CNN's 84-d features before its last layer (learnt with labels).
    """
    flat = np.asarray(images, np.float32).reshape(-1, 64) / DATA_MAX
    cnn.eval()
    autoencoder.eval()
    with torch.inference_mode():
        code = autoencoder.encoder(torch.from_numpy(flat)).numpy()
        deep = cnn.features(digits_to_tensor(images)).numpy()
    return {"pixels": flat, "autoencoder": code, "cnn": deep}


def tsne_2d(
    features: np.ndarray, *, seed: int = 0, perplexity: int = TSNE_PERPLEXITY
) -> np.ndarray:
    """N x D → N x 2 t-SNE embedding (PCA init), scaled to -1..1.

    ``perplexity`` is roughly how many neighbours each point keeps close (5: a
    few, so many small clumps; 50: many, so a smoother, more global layout).
    """
    from sklearn.manifold import TSNE

    points = TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=seed
    ).fit_transform(features)
    points -= points.mean(axis=0)
    return (points / np.abs(points).max()).astype(np.float32)


def read_meta(path: Path) -> dict:
    """The JSON written next to a weights file (accuracy, seed, sha256, ...)."""
    return json.loads(path.read_text(encoding="utf-8"))


def load_state(model: nn.Module, weights: Path, meta: Path | None = None) -> nn.Module:
    """Load a committed state_dict (checked against its recorded SHA-256); eval mode.

    Raises ``FileNotFoundError`` or ``ValueError`` (hash mismatch) with the fix.
    """
    if meta is not None and meta.exists():
        expected = read_meta(meta).get("sha256")
        if expected and sha256_of(weights) != expected:
            raise ValueError(
                f"{weights.name} does not match its recorded SHA-256; "
                "rebuild it with `python manage.py train_digits`."
            )
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
