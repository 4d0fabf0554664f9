"""Training runs of the training lesson's widget: start one, run it off the
request, read it back while it grows.

A run is a ``TrainingRun`` row; ``start_training_run`` commits it and hands its id
to a small per-process thread pool (``TRAINING_RUN_WORKERS`` threads), so the web
worker answers at once and the page polls ``get_training_run_for_user``. Bounds:
one active run per student (a second start is refused), ``TRAINING_RUN_SECONDS``
per run (training stops at the deadline and says so), and the data and model
limits of ``demos.ml.training`` (memory). A run left "running" by a process that
died is failed once it is older than its time cap. ``TRAINING_RUN_INLINE`` (tests)
runs the job in the committing thread instead.

torch is imported inside the job, so importing this module loads nothing heavy.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import close_old_connections, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from demos.models import TrainingRun
from portal.lib.errors import BadInput

logger = logging.getLogger(__name__)
STALE_MARGIN = timedelta(seconds=60)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_queued_here: set[int] = set()  # ids this process queued and has not started


class TrainingRunBusy(BadInput):
    """The student already has a run queued or running (→ 409)."""


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=settings.TRAINING_RUN_WORKERS,
                thread_name_prefix="training-run",
            )
        return _executor


def _fail_stale_runs(owner: AbstractBaseUser) -> None:
    cutoff = timezone.now() - (
        timedelta(seconds=settings.TRAINING_RUN_SECONDS) + STALE_MARGIN
    )
    TrainingRun.objects.filter(
        owner=owner,
        state__in=[TrainingRun.State.QUEUED, TrainingRun.State.RUNNING],
        created__lt=cutoff,
    ).update(
        state=TrainingRun.State.FAILED,
        detail="The run was interrupted (the server restarted).",
        finished=timezone.now(),
    )


def start_training_run(*, owner: AbstractBaseUser, options: Any) -> TrainingRun:
    """Queue a run with ``options`` (a checked ``TrainingSettings``) for ``owner``.

    Raises ``TrainingRunBusy`` while the owner's previous run is still active.
    """
    options.check()
    with transaction.atomic():
        # Lock the owner's row so two quick clicks cannot start two runs.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        _fail_stale_runs(owner)
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
        run_id = run.pk
        if settings.TRAINING_RUN_INLINE:
            transaction.on_commit(lambda: run_training(run_id))
        else:
            transaction.on_commit(lambda: _submit(run_id))
    return run


def _submit(run_id: int) -> None:
    with _executor_lock:
        _queued_here.add(run_id)
    _pool().submit(_in_thread, run_id)


def abandon_queued_runs() -> int:
    """When this web worker exits (gunicorn's ``worker_exit``): the runs it queued
    but never started are cancelled and failed with a reason, so the worker leaves
    at once instead of training its whole queue first (which kept it from being
    replaced). Returns how many were failed."""
    global _executor
    with _executor_lock:
        pool, _executor = _executor, None
        abandoned = list(_queued_here)
        _queued_here.clear()
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
    if not abandoned:
        return 0
    return TrainingRun.objects.filter(
        pk__in=abandoned, state=TrainingRun.State.QUEUED
    ).update(
        state=TrainingRun.State.FAILED,
        detail="The server restarted before this run started; start it again.",
        finished=timezone.now(),
    )


def _in_thread(run_id: int) -> None:
    with _executor_lock:
        _queued_here.discard(run_id)  # started: no longer abandoned at exit
    try:
        run_training(run_id)
    finally:
        close_old_connections()  # this thread's own connection


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
    """Train one queued run, saving the curves after every epoch; never raises."""
    from demos.ml import training
    from demos.ml.feature_maps import TRACING

    run = TrainingRun.objects.filter(pk=run_id, state=TrainingRun.State.QUEUED).first()
    if run is None:
        return
    TrainingRun.objects.filter(pk=run_id).update(
        state=TrainingRun.State.RUNNING, started=timezone.now()
    )
    curves: list[dict[str, Any]] = []

    def on_epoch(result: Any) -> None:
        row = {
            key: (_json_number(value, key) if isinstance(value, float) else value)
            for key, value in asdict(result).items()
        }
        curves.append(row)
        TrainingRun.objects.filter(pk=run_id).update(curves=list(curves))

    try:
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
        TrainingRun.objects.filter(pk=run_id).update(
            state=TrainingRun.State.DONE, detail=detail, finished=timezone.now()
        )
    except Exception as exc:  # the page must learn the run ended, whatever happened
        logger.exception("Training run %s failed", run_id)
        TrainingRun.objects.filter(pk=run_id).update(
            state=TrainingRun.State.FAILED,
            detail=str(exc)[:500],
            finished=timezone.now(),
        )


def get_training_run_for_user(user: AbstractBaseUser, public_id: Any) -> TrainingRun:
    """The owner's run (staff may see any), else 404."""
    runs = TrainingRun.objects.all()
    if not user.is_staff:
        runs = runs.filter(owner=user)
    run = get_object_or_404(runs, public_id=public_id)
    if run.state in (TrainingRun.State.QUEUED, TrainingRun.State.RUNNING):
        # A run whose process died ends here, with a reason, not "running" forever.
        _fail_stale_runs(run.owner)
        run.refresh_from_db()
    return run


def wait_for_pool() -> None:
    """Finish every queued run (tests and shutdown); a new pool starts on demand."""
    global _executor
    with _executor_lock:
        pool, _executor = _executor, None
    if pool is not None:
        pool.shutdown(wait=True)
