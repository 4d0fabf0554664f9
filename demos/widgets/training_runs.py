"""Training runs of the training lesson's widget: start one, run it off the
request, read it back while it grows.

A run is a ``TrainingRun`` row; ``start_training_run`` commits it ``queued`` and
hands it to its trainer (``demos/widgets/run_queue.py``: a Celery worker with Redis,
else the separate training runner process; never a web worker), so the web worker
answers at once and the page polls ``get_training_run_for_user``. Bounds: one active
run per student (a second start is refused), ``TRAINING_RUN_SECONDS`` per run
(training stops at the deadline and says so), and the data and model limits of
``demos.ml.training`` (memory). A run whose trainer died is failed with a reason
(``run_queue.fail_stale_runs``).

torch is imported inside the job, so importing this module loads nothing heavy.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from demos.models import TrainingRun
from demos.widgets import run_queue
from portal.lib.errors import BadInput


class TrainingRunBusy(BadInput):
    """The student already has a run queued or running (→ 409)."""


def fail_stale_runs(owner: AbstractBaseUser | None = None) -> int:
    """Fail runs (``owner``'s, or everyone's) whose trainer died; how many."""
    return run_queue.fail_stale_runs(
        TrainingRun, seconds=settings.TRAINING_RUN_SECONDS, owner=owner
    )


def start_training_run(*, owner: AbstractBaseUser, options: Any) -> TrainingRun:
    """Queue a run with ``options`` (a checked ``TrainingSettings``) for ``owner``.

    Raises ``TrainingRunBusy`` while the owner's previous run is still active.
    """
    options.check()
    with transaction.atomic():
        # Lock the owner's row so two quick clicks cannot start two runs.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        fail_stale_runs(owner)
        if TrainingRun.objects.filter(
            owner=owner,
            state__in=[TrainingRun.State.QUEUED, TrainingRun.State.RUNNING],
        ).exists():
            raise TrainingRunBusy(
                _("Your previous training run is still going; wait for it to finish.")
            )
        run = TrainingRun(owner=owner, options=options.as_dict())
        run.full_clean()
        run.save()
        transaction.on_commit(
            partial(
                run_queue.queue_run,
                TrainingRun,
                run.pk,
                task_name=run_queue.TRAINING_TASK,
                train=run_training,
            )
        )
    return run


@cache
def _digits_data() -> Any:
    from demos.ml import digits

    return digits.load_digits_split()


def _json_number(value: float, key: str = "") -> float | None:
    if not math.isfinite(value):
        return None
    # A rate after a few StepLR steps (1e-6) would round to 0 at five decimals.
    return float(f"{value:.6g}") if key == "learning_rate" else round(value, 5)


def run_training(run_id: int) -> None:
    """Claim this queued run and train it (a Celery task, or inline in tests);
    a run another trainer claimed already is left alone. Never raises."""
    if run_queue.claim(TrainingRun, run_id):
        train_claimed_run(run_id)


def train_claimed_run(run_id: int) -> None:
    """Train a run this process claimed, saving the curves after every epoch;
    never raises. Writes go through ``still_running``: a run failed meanwhile
    (stale, or its runner stopping) stays failed."""
    from demos.ml import training
    from demos.ml.feature_maps import TRACING

    run = TrainingRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    mine = run_queue.still_running(TrainingRun, run_id)
    curves: list[dict[str, Any]] = []

    def on_epoch(result: Any) -> None:
        row = {
            key: (_json_number(value, key) if isinstance(value, float) else value)
            for key, value in asdict(result).items()
        }
        curves.append(row)
        mine.update(curves=list(curves))

    with run_queue.failing_on_error(mine, f"Training run {run_id}"):
        options = training.TrainingSettings(**run.options)
        deadline = time.monotonic() + settings.TRAINING_RUN_SECONDS
        results = training.train_curves(
            _digits_data(), options, on_epoch=on_epoch, deadline=deadline, guard=TRACING
        )
        detail = ""
        if results and not math.isfinite(results[-1].train_loss):
            detail = _("The loss became infinite: the learning rate is far too high.")
        elif len(results) < options.epochs:
            detail = _("Stopped at the time limit of %(seconds)s seconds.") % {
                "seconds": settings.TRAINING_RUN_SECONDS
            }
        run_queue.end_run(mine, detail=detail)


def get_training_run_for_user(user: AbstractBaseUser, public_id: Any) -> TrainingRun:
    """The owner's run (staff may see any), else 404; a dead one ends failed."""
    return run_queue.get_run_for_user(
        TrainingRun, user, public_id, seconds=settings.TRAINING_RUN_SECONDS
    )
