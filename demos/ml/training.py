"""The training-curves demo of the training lesson (pure: no Django).

A small MLP (64 → 128 → 64 → 10, optional dropout) learns scikit-learn's 8x8
digits from a chosen subset of the fixed training split and is measured on the
fixed test split after every epoch. The switches are the ones the lesson uses to
cause and cure overfitting: subset size, dropout, weight decay, augmentation
(random one-pixel shifts and a little noise), the optimiser (SGD, SGD with
momentum 0.9, Adam with coupled weight decay, AdamW with decoupled weight decay),
the learning rate and an optional StepLR schedule. The patience setting does not
stop training: the widget marks where early stopping would have stopped.

``train_curves`` reports every epoch through a callback and stops at a deadline,
so the caller bounds the time; memory is bounded by the limits in
``TrainingSettings.check`` (at most ``MAX_SUBSET`` images of 64 pixels, a fixed
model of about 17 k parameters, at most ``MAX_EPOCHS`` epochs).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from demos.ml.digits import DATA_MAX, DigitsData
from demos.ml.training_settings import (
    BATCH_SIZE,
    LEARNING_RATES,
    MAX_EPOCHS,
    MAX_SUBSET,
    MIN_SUBSET,
    MOMENTUM,
    OPTIMISERS,
    InvalidTrainingSettings,
    TrainingSettings,
)

# The switches and their limits live in training_settings (torch-free: the web
# worker checks a run's settings with them); read here too, under their old names.
__all__ = [
    "BATCH_SIZE",
    "LEARNING_RATES",
    "MAX_EPOCHS",
    "MAX_SUBSET",
    "MIN_SUBSET",
    "MOMENTUM",
    "OPTIMISERS",
    "DigitsMLP",
    "EpochResult",
    "InvalidTrainingSettings",
    "TrainingSettings",
    "augment",
    "make_optimiser",
    "pick_subset",
    "train_curves",
]


class DigitsMLP(nn.Module):
    """64 pixels (0..1) → 128 → 64 → 10 logits; ReLU and dropout after each
    hidden layer."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(64, 128),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(64, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@dataclass(frozen=True)
class EpochResult:
    epoch: int  # 1-based
    train_loss: float  # on the (un-augmented) training subset, eval mode
    val_loss: float  # on the fixed test split (360 digits)
    train_accuracy: float
    val_accuracy: float
    learning_rate: float  # the rate of this epoch's steps (after StepLR)


def pick_subset(
    data: DigitsData, size: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``size`` training images, as balanced over the 10 digits as possible."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.train_labels))
    # Round-robin over the classes so even 20 images hold every digit twice.
    by_class = [order[data.train_labels[order] == d] for d in range(10)]
    picked: list[int] = []
    rank = 0
    while len(picked) < size:
        for members in by_class:
            if rank < len(members) and len(picked) < size:
                picked.append(int(members[rank]))
        rank += 1
    index = np.array(sorted(picked))
    return data.train_images[index], data.train_labels[index]


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shift half of the N x 8 x 8 images by one pixel in x and/or y (zeros come
    in) and add a little noise; the label stays true (no flips: digits are not
    symmetric). One pixel is an eighth of a digit, so only half are moved."""
    count = images.shape[0]
    padded = F.pad(images, (1, 1, 1, 1))
    moved = torch.rand(count, generator=generator) < 0.5
    dx = torch.where(moved, torch.randint(0, 3, (count,), generator=generator), 1)
    dy = torch.where(moved, torch.randint(0, 3, (count,), generator=generator), 1)
    shifted = torch.stack(
        [padded[n, dy[n] : dy[n] + 8, dx[n] : dx[n] + 8] for n in range(count)]
    )
    noise = torch.randn(shifted.shape, generator=generator) * 0.05
    return (shifted + noise).clamp(0, 1)


def make_optimiser(parameters: Any, options: TrainingSettings) -> torch.optim.Optimizer:
    """The chosen optimiser. ``Adam(weight_decay=λ)`` adds ``λw`` to the gradient
    before the adaptive division (coupled, an L2 penalty); ``AdamW`` subtracts
    ``lr·λ·w`` apart from it (decoupled); SGD's two forms are the same thing."""
    lr, decay = options.learning_rate, options.weight_decay
    if options.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=lr, weight_decay=decay)
    if options.optimizer == "momentum":
        return torch.optim.SGD(parameters, lr=lr, momentum=MOMENTUM, weight_decay=decay)
    if options.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=decay)
    return torch.optim.Adam(parameters, lr=lr, weight_decay=decay)


def _measure(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    model.eval()
    with torch.inference_mode():
        logits = model(x.flatten(1))
        loss = F.cross_entropy(logits, y).item()
        accuracy = (logits.argmax(1) == y).float().mean().item()
    return loss, accuracy


def _train_epoch(
    model: nn.Module,
    optimiser: torch.optim.Optimizer,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    options: TrainingSettings,
    generator: torch.Generator,
) -> None:
    model.train()
    order = torch.randperm(len(train_x), generator=generator)
    for start in range(0, len(order), BATCH_SIZE):
        index = order[start : start + BATCH_SIZE]
        batch = train_x[index]
        if options.augment:
            batch = augment(batch, generator)
        loss = F.cross_entropy(model(batch.flatten(1)), train_y[index])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()


def train_curves(
    data: DigitsData,
    options: TrainingSettings,
    *,
    on_epoch: Callable[[EpochResult], None] | None = None,
    deadline: float | None = None,
    guard: AbstractContextManager[Any] | None = None,
) -> list[EpochResult]:
    """Train ``DigitsMLP`` with the chosen optimiser (and StepLR when
    ``lr_step_size`` > 0, stepped once per epoch) and report both curves and the
    epoch's learning rate after every epoch.

    Stops early (returning the epochs done) when ``time.monotonic()`` passes
    ``deadline``, or when the loss becomes NaN or infinite (a learning rate far
    too high); a NaN loss is reported as ``math.inf``. Each epoch runs inside
    ``guard`` (a lock shared with work that must not overlap it).
    """
    guard = guard if guard is not None else contextlib.nullcontext()
    options.check()
    torch.manual_seed(options.seed)
    generator = torch.Generator().manual_seed(options.seed)
    images, labels = pick_subset(data, options.subset, options.seed)
    train_x = torch.from_numpy(images / DATA_MAX).float()
    train_y = torch.from_numpy(labels)
    val_x = torch.from_numpy(data.test_images / DATA_MAX).float()
    val_y = torch.from_numpy(data.test_labels)
    model = DigitsMLP(options.dropout)
    optimiser = make_optimiser(model.parameters(), options)
    scheduler = (
        torch.optim.lr_scheduler.StepLR(
            optimiser, step_size=options.lr_step_size, gamma=options.lr_gamma
        )
        if options.lr_step_size > 0
        else None
    )
    results: list[EpochResult] = []
    for epoch in range(1, options.epochs + 1):
        rate = float(optimiser.param_groups[0]["lr"])
        with guard:
            _train_epoch(model, optimiser, train_x, train_y, options, generator)
            train_loss, train_accuracy = _measure(model, train_x, train_y)
            val_loss, val_accuracy = _measure(model, val_x, val_y)
        if scheduler is not None:
            scheduler.step()
        result = EpochResult(
            epoch=epoch,
            train_loss=train_loss if math.isfinite(train_loss) else math.inf,
            val_loss=val_loss if math.isfinite(val_loss) else math.inf,
            train_accuracy=train_accuracy,
            val_accuracy=val_accuracy,
            learning_rate=rate,
        )
        results.append(result)
        if on_epoch is not None:
            on_epoch(result)
        if not math.isfinite(result.train_loss):
            break  # diverged: the lesson's "loss becomes nan"
        if deadline is not None and time.monotonic() > deadline:
            break
    return results
