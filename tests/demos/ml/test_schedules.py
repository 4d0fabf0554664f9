"""The training lesson's torch-free arithmetic (demos/ml/schedules.py): StepLR's
timeline against torch's own scheduler, the early-stopping marker, and the
lesson's gradient-descent and momentum numbers on L(w) = w²."""

from __future__ import annotations

import math

import pytest
import torch

from demos.ml.schedules import EarlyStop, early_stopping, momentum_iterates, step_lr


def test_the_notes_steplr_multiplies_the_rate_every_seven_epochs() -> None:
    rates = [step_lr(0.001, 7, 0.1, epoch) for epoch in (1, 7, 8, 14, 15, 22)]
    assert rates == pytest.approx([0.001, 0.001, 0.0001, 0.0001, 1e-5, 1e-6])
    assert step_lr(0.01, 0, 0.1, 30) == 0.01  # step size 0: no schedule


@pytest.mark.parametrize(("step_size", "gamma"), [(7, 0.1), (3, 0.5), (10, 0.1)])
def test_the_timeline_is_what_torch_steplr_gives(step_size: int, gamma: float) -> None:
    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.001)
    scheduler = torch.optim.lr_scheduler.StepLR(probe, step_size, gamma)
    for epoch in range(1, 31):
        assert step_lr(0.001, step_size, gamma, epoch) == pytest.approx(
            scheduler.get_last_lr()[0]
        )
        probe.step()
        scheduler.step()


def test_early_stopping_stops_after_patience_epochs_without_improvement() -> None:
    losses = [1.0, 0.8, 0.6, 0.65, 0.7, 0.62, 0.9, 0.5]
    assert early_stopping(losses, patience=3) == EarlyStop(best_epoch=3, stop_epoch=6)
    # Patience 5 outlasts the bad stretch: no stop, and epoch 8 is the best.
    assert early_stopping(losses, patience=5) == EarlyStop(8, None)


def test_an_equal_or_infinite_loss_is_no_improvement() -> None:
    assert early_stopping([0.5, 0.5, None, math.inf], patience=3) == EarlyStop(1, 4)
    assert early_stopping([None, None], patience=2) == EarlyStop(None, 2)
    assert early_stopping([], patience=5) == EarlyStop(None, None)


def test_the_lessons_numbers_for_plain_descent_and_momentum() -> None:
    steps = momentum_iterates(w0=1.0, learning_rate=0.1, mu=0.9, steps=3)
    assert steps.plain == pytest.approx([1, 0.8, 0.64, 0.512])
    assert steps.momentum == pytest.approx([1, 0.8, 0.46, 0.062])
    assert steps.velocity == pytest.approx([0, 2, 3.4, 3.98])


def test_momentum_matches_torch_sgd_and_overshoots_past_the_minimum() -> None:
    steps = momentum_iterates(steps=30)
    w = torch.tensor([1.0], requires_grad=True)
    optimiser = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    for t in range(1, 31):
        optimiser.zero_grad()
        (w**2).sum().backward()
        optimiser.step()
        assert w.item() == pytest.approx(steps.momentum[t], abs=1e-5)
    assert min(steps.momentum) < -0.2  # it swings past 0 ...
    assert abs(steps.momentum[-1]) < 0.1  # ... and settles, swinging less each time
    assert steps.plain[-1] == pytest.approx(0.8**30)


def test_a_silly_number_of_steps_is_refused() -> None:
    with pytest.raises(ValueError):
        momentum_iterates(steps=0)
