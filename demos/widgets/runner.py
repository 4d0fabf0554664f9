"""The training runner: the one process that trains runs without Redis.

``manage.py run_training_worker`` runs ``Runner.serve``; ``make run`` starts it
beside gunicorn, so no web worker ever trains (``demos/widgets/run_queue.py``). It
polls the database every ``poll`` seconds, claims the oldest queued runs atomically
(``run_queue.claim_next``) while it has free slots — ``TRAINING_RUN_WORKERS``
training runs and one transfer run (a CNN and its features) at a time — and trains
each in a daemon thread. Every ``SWEEP_SECONDS`` it fails runs whose trainer died.
A transfer run is exported for ONNX predictions as it ends; when it starts, the
runner exports the finished runs that have no export yet (trained before that).

Stopping it (SIGTERM, Ctrl-C) stops claiming, lets running runs finish for ``grace``
seconds and fails the rest with a reason, so a restart of the runner never leaves a
run "running" for good; the web site is not touched by either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from demos.models import TrainingRun, TransferRun, WorkState
from demos.widgets import run_queue, training_runs, transfer_runs

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 30


@dataclass
class Lane:
    """One kind of run: its model, how to train a claimed one, how many at once."""

    model: Any
    train: Callable[[int], None]
    slots: int
    stale_seconds: Callable[[], int]
    running: dict[int, threading.Thread] = field(default_factory=dict)

    def reap(self) -> None:
        for run_id, thread in list(self.running.items()):
            if not thread.is_alive():
                del self.running[run_id]


def _in_thread(train: Callable[[int], None], run_id: int) -> None:
    try:
        train(run_id)
    finally:
        connection.close()  # this thread's own connection


def _export_old_runs() -> None:
    try:
        exported = transfer_runs.export_missing_predictors()
        if exported:
            logger.info("Training runner: exported %d old transfer run(s)", exported)
    except Exception:  # their predictions wait for the next start; training goes on
        logger.exception("Training runner: exporting finished transfer runs failed")
    finally:
        connection.close()  # this thread's own connection


class Runner:
    def __init__(self, *, training_slots: int | None = None, poll: float = 1.0):
        self.poll = poll
        self.lanes = [
            Lane(
                TrainingRun,
                training_runs.train_claimed_run,
                training_slots or settings.TRAINING_RUN_WORKERS,
                lambda: settings.TRAINING_RUN_SECONDS,
            ),
            Lane(
                TransferRun,
                transfer_runs.train_claimed_run,
                1,
                lambda: settings.TRANSFER_RUN_SECONDS,
            ),
        ]
        self._last_sweep = 0.0

    @property
    def busy(self) -> int:
        return sum(len(lane.running) for lane in self.lanes)

    def sweep(self) -> int:
        """Fail runs whose trainer died (another runner, a killed worker)."""
        self._last_sweep = time.monotonic()
        return sum(
            run_queue.fail_stale_runs(lane.model, seconds=lane.stale_seconds())
            for lane in self.lanes
        )

    def tick(self) -> int:
        """Reap finished threads, sweep when due, claim runs for free slots;
        returns how many runs were started."""
        if time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
            self.sweep()
        started = 0
        for lane in self.lanes:
            lane.reap()
            while len(lane.running) < lane.slots:
                run_id = run_queue.claim_next(lane.model)
                if run_id is None:
                    break
                thread = threading.Thread(
                    target=_in_thread,
                    args=(lane.train, run_id),
                    name=f"{lane.model.__name__}-{run_id}",
                    daemon=True,
                )
                lane.running[run_id] = thread
                thread.start()
                started += 1
        close_old_connections()
        return started

    def drain(self, timeout: float = 600.0) -> None:
        """Train until nothing is queued or running here (``--once``, tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.tick()
            if not started and not self.busy:
                return
            time.sleep(min(self.poll, 0.05))
        raise TimeoutError("runs still going after the drain timeout")

    def serve(self, stop: threading.Event, *, grace: float = 10.0) -> None:
        """Export finished transfer runs that lack their ONNX predictor, then poll
        until ``stop`` is set, then settle the runs in flight."""
        self.sweep()
        # Beside the polling: many old runs must not hold up the queue.
        threading.Thread(
            target=_export_old_runs, name="export-transfer-runs", daemon=True
        ).start()
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # a busy database must not end the runner
                logger.exception("Training runner: poll failed")
                close_old_connections()
            stop.wait(self.poll)
        self.stop(grace)

    def stop(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for the runs in flight, then fail the rest
        with a reason (their daemon threads end with the process)."""
        deadline = time.monotonic() + grace
        for lane in self.lanes:
            for thread in list(lane.running.values()):
                thread.join(max(0.0, deadline - time.monotonic()))
        failed = 0
        for lane in self.lanes:
            lane.reap()
            if lane.running:
                failed += lane.model.objects.filter(
                    pk__in=list(lane.running), state=WorkState.RUNNING
                ).update(
                    state=WorkState.FAILED,
                    detail=_(
                        "The server's training worker stopped during this run; "
                        "start it again."
                    ),
                    finished=timezone.now(),
                )
        return failed
