"""The training lesson's MLP demo (demos/cnn/training.py), without the database:
curves per epoch, the switches, the bounds."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from demos.ml import digits, training
from demos.ml.training import (
    InvalidTrainingSettings,
    TrainingSettings,
    augment,
    pick_subset,
    train_curves,
)


@pytest.fixture(scope="module")
def data() -> digits.DigitsData:
    return digits.load_digits_split()


def test_each_epoch_reports_losses_that_match_torch_cross_entropy(data) -> None:
    seen: list[training.EpochResult] = []
    results = train_curves(
        data, TrainingSettings(subset=50, epochs=3), on_epoch=seen.append
    )
    assert [r.epoch for r in results] == [1, 2, 3] and seen == results
    # The loss of an untrained 10-class network starts near ln 10.
    assert abs(results[0].val_loss - math.log(10)) < 0.3
    assert results[-1].train_loss < results[0].train_loss


def test_the_reported_validation_loss_is_the_models_cross_entropy(data) -> None:
    torch.manual_seed(0)
    model = training.DigitsMLP()
    x = torch.from_numpy(data.test_images / digits.DATA_MAX).float()
    y = torch.from_numpy(data.test_labels)
    loss, accuracy = training._measure(model, x, y)
    with torch.inference_mode():
        logits = model(x.flatten(1))
    assert loss == pytest.approx(F.cross_entropy(logits, y).item())
    assert accuracy == pytest.approx((logits.argmax(1) == y).float().mean().item())


def test_a_small_subset_overfits_and_the_whole_set_generalises(data) -> None:
    small = train_curves(data, TrainingSettings(subset=50, epochs=40))
    large = train_curves(data, TrainingSettings(subset=1437, epochs=10))
    gap_small = small[-1].val_loss - small[-1].train_loss
    gap_large = large[-1].val_loss - large[-1].train_loss
    assert small[-1].train_loss < 0.05  # it learnt its 50 images by heart
    assert gap_small > 3 * gap_large
    assert large[-1].val_accuracy > 0.93 > small[-1].val_accuracy


def test_a_far_too_high_learning_rate_blows_the_loss_up(data) -> None:
    results = train_curves(
        data, TrainingSettings(subset=100, epochs=5, learning_rate=2.0)
    )
    assert results[0].train_loss > 10 * math.log(10) or not math.isfinite(
        results[-1].train_loss
    )


def test_the_deadline_stops_training_after_the_current_epoch(data) -> None:
    results = train_curves(
        data, TrainingSettings(subset=50, epochs=60), deadline=time.monotonic()
    )
    assert len(results) == 1


def test_subsets_are_balanced_over_the_digits(data) -> None:
    images, labels = pick_subset(data, 20, seed=0)
    assert images.shape == (20, 8, 8)
    assert np.bincount(labels, minlength=10).tolist() == [2] * 10


def test_augmentation_shifts_by_at_most_one_pixel_and_keeps_the_range() -> None:
    generator = torch.Generator().manual_seed(0)
    image = torch.zeros(64, 8, 8)
    image[:, 3:5, 3:5] = 1.0
    out = augment(image, generator)
    assert out.shape == image.shape and out.min() >= 0 and out.max() <= 1
    centres = (out > 0.5).nonzero()[:, 1:].float()
    assert centres.min() >= 2 and centres.max() <= 5


@pytest.mark.parametrize(
    "options",
    [
        TrainingSettings(subset=5),
        TrainingSettings(subset=5000),
        TrainingSettings(epochs=0),
        TrainingSettings(epochs=500),
        TrainingSettings(dropout=1.0),
        TrainingSettings(weight_decay=1.0),
        TrainingSettings(learning_rate=10.0),
    ],
)
def test_settings_outside_the_bounds_are_refused(options: TrainingSettings) -> None:
    with pytest.raises(InvalidTrainingSettings):
        options.check()


def test_training_survives_feature_extractors_traced_in_another_thread(data) -> None:
    import threading

    from demos.ml.feature_maps import TRACING, TorchActivations

    stop = threading.Event()

    def trace_again_and_again() -> None:
        while not stop.is_set():
            TorchActivations(digits.DigitsCNN(), ["conv1", "pool2"], with_output=True)

    tracer = threading.Thread(target=trace_again_and_again)
    tracer.start()
    try:
        results = train_curves(
            data, TrainingSettings(subset=50, epochs=15), guard=TRACING
        )
    finally:
        stop.set()
        tracer.join()
    assert len(results) == 15


@pytest.mark.parametrize(
    "options",
    [
        TrainingSettings(optimizer="rmsprop"),
        TrainingSettings(lr_step_size=61),
        TrainingSettings(lr_gamma=0),
        TrainingSettings(lr_gamma=2),
        TrainingSettings(patience=0),
    ],
)
def test_new_switches_outside_the_bounds_are_refused(options) -> None:
    with pytest.raises(InvalidTrainingSettings):
        options.check()


@pytest.mark.parametrize(
    ("name", "kind", "momentum"),
    [
        ("sgd", torch.optim.SGD, 0),
        ("momentum", torch.optim.SGD, 0.9),
        ("adam", torch.optim.Adam, None),
        ("adamw", torch.optim.AdamW, None),
    ],
)
def test_each_optimiser_choice_builds_that_optimiser(name, kind, momentum) -> None:
    options = TrainingSettings(optimizer=name, weight_decay=0.01, learning_rate=0.1)
    optimiser = training.make_optimiser(training.DigitsMLP().parameters(), options)
    assert type(optimiser) is kind
    group = optimiser.param_groups[0]
    assert group["lr"] == 0.1 and group["weight_decay"] == 0.01
    if momentum is not None:
        assert group["momentum"] == momentum


def test_adamw_decays_weights_apart_from_the_gradient_and_adam_does_not() -> None:
    # A weight with zero gradient: coupled Adam turns lambda*w into a normalised step
    # of about lr; AdamW shrinks it by exactly lr*lambda*w.
    def one_step(name: str) -> float:
        w = torch.nn.Parameter(torch.tensor([2.0]))
        options = TrainingSettings(optimizer=name, weight_decay=0.01, learning_rate=0.1)
        optimiser = training.make_optimiser([w], options)
        w.grad = torch.zeros(1)
        optimiser.step()
        return w.item()

    assert one_step("adamw") == pytest.approx(2.0 - 0.1 * 0.01 * 2.0)
    assert one_step("adam") == pytest.approx(2.0 - 0.1, abs=1e-4)


def test_steplr_lowers_the_rate_each_epoch_reports(data) -> None:
    results = train_curves(
        data,
        TrainingSettings(
            subset=20, epochs=8, learning_rate=0.001, lr_step_size=3, lr_gamma=0.1
        ),
    )
    assert [r.learning_rate for r in results] == pytest.approx(
        [1e-3] * 3 + [1e-4] * 3 + [1e-5] * 2
    )


@pytest.mark.parametrize("name", ["sgd", "momentum", "adamw"])
def test_every_optimiser_learns_the_digits(data, name: str) -> None:
    rate = 0.001 if name == "adamw" else 0.1
    results = train_curves(
        data,
        TrainingSettings(subset=200, epochs=8, optimizer=name, learning_rate=rate),
    )
    assert results[-1].val_loss < results[0].val_loss
    assert results[-1].val_accuracy > 0.6
