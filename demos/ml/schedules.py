"""The training lesson's arithmetic without torch: the StepLR timeline, where early
stopping would stop, and gradient descent against momentum on ``L(w) = w²``.

Pure (no Django, no torch), so the widget module can call it while it answers a
request and the tests can check it against ``torch.optim``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def step_lr(learning_rate: float, step_size: int, gamma: float, epoch: int) -> float:
    """The rate ``torch.optim.lr_scheduler.StepLR`` gives in 1-based ``epoch``
    (``scheduler.step()`` once per epoch): ``lr * gamma ** ((epoch - 1) // step_size)``.
    ``step_size`` 0 means no schedule. With the notes' 7 / 0.1 from 0.001: epochs 1-7
    use 0.001, epochs 8-14 use 0.0001 (a factor, not "minus 0.1")."""
    if step_size <= 0:
        return learning_rate
    return learning_rate * gamma ** ((epoch - 1) // step_size)


@dataclass(frozen=True)
class EarlyStop:
    best_epoch: int | None  # 1-based; the weights early stopping keeps
    stop_epoch: int | None  # 1-based; None: patience never ran out


def early_stopping(val_losses: Sequence[float | None], patience: int) -> EarlyStop:
    """Where Keras' ``EarlyStopping(patience=patience, restore_best_weights=True)``
    (and the lesson's loop) would stop on these per-epoch validation losses (epoch
    1 first). An epoch improves when its loss is below the best so far; after
    ``patience`` epochs in a row without improvement training stops, and the best
    epoch *before* that point is the one kept. ``None``, NaN and inf never improve.
    """
    best_loss, best_epoch = math.inf, None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss is not None and math.isfinite(loss) and loss < best_loss:
            best_loss, best_epoch = loss, epoch
        elif epoch - (best_epoch or 0) >= patience:
            return EarlyStop(best_epoch, epoch)
    return EarlyStop(best_epoch, None)


@dataclass(frozen=True)
class MomentumSteps:
    """Iterates on ``L(w) = w²`` (gradient ``2w``), step 0 first."""

    plain: list[float]  # w <- w - lr * 2w
    momentum: list[float]  # v <- mu * v + 2w ; w <- w - lr * v  (PyTorch's form)
    velocity: list[float]  # v after each momentum step (0 at step 0)


def momentum_iterates(
    *, w0: float = 1.0, learning_rate: float = 0.1, mu: float = 0.9, steps: int = 30
) -> MomentumSteps:
    """Plain gradient descent and momentum from the same start, ``steps`` steps
    each (lists of ``steps + 1`` values). The lesson's numbers: plain 1, 0.8, 0.64,
    0.512; momentum 1, 0.8, 0.46, 0.062 with velocity 0, 2, 3.4, 3.98."""
    if not 1 <= steps <= 200:
        raise ValueError("steps must be 1..200")
    plain, momentum, velocity = [w0], [w0], [0.0]
    w, m, v = w0, w0, 0.0
    for _ in range(steps):
        w -= learning_rate * 2 * w
        v = mu * v + 2 * m
        m -= learning_rate * v
        plain.append(w)
        momentum.append(m)
        velocity.append(v)
    return MomentumSteps(plain, momentum, velocity)
