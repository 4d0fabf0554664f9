"""Where training and transfer runs run: never inside a web worker.

A run is a row (``TrainingRun``, ``TransferRun``) committed ``queued`` by the web
request, which answers at once. ``settings.TRAINING_RUN_BACKEND`` says who trains it:

- ``"celery"`` (the default with ``REDIS_URL``): the run's id is sent by name to a
  Celery worker (``demos/tasks.py``), like a detection job;
- ``"runner"`` (the default otherwise): nothing is sent; the one training runner
  process (``manage.py run_training_worker``, which ``make run`` starts beside
  gunicorn; ``demos/widgets/runner.py``) claims queued rows itself;
- ``"inline"`` (tests): the committing thread trains it, on commit.

So a gunicorn worker that restarts (``max_requests``, a HUP, a crash) has no run to
finish or lose. Claims are atomic (a conditional ``UPDATE`` from ``queued``), so a
re-delivered task or a second runner never trains a run twice. A run whose trainer
died is settled by ``fail_stale_runs``: running past its time cap plus a margin, or
queued longer than ``RUN_QUEUED_TIMEOUT`` (no trainer is there), it fails with a
reason the student reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as BrokerUnreachable

from demos.models import WorkState
from portal.celery import app as celery_app
from portal.lib.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# Celery task names (demos/tasks.py defines them; sent by name, never imported).
TRAINING_TASK = "demos.tasks.run_training_run"
TRANSFER_TASK = "demos.tasks.run_transfer_run"
BACKENDS = ("celery", "runner", "inline")
# A run still "running" this long after its time cap lost its trainer.
STALE_MARGIN = timedelta(seconds=60)

INTERRUPTED = "The run was interrupted (the server restarted)."


class RunQueueUnavailable(ServiceUnavailable):
    """The broker (Redis) did not accept the run (→ 503)."""


def backend() -> str:
    return settings.TRAINING_RUN_BACKEND


def queue_run(
    model: Any, run_id: int, *, task_name: str, train: Callable[[int], None]
) -> None:
    """Hand a committed run to its trainer (call it from ``transaction.on_commit``)."""
    mode = backend()
    if mode == "inline":
        train(run_id)
    elif mode == "celery":
        try:
            celery_app.signature(task_name, args=[run_id]).apply_async()
        except (OSError, BrokerUnreachable) as exc:
            model.objects.filter(pk=run_id, state=WorkState.QUEUED).update(
                state=WorkState.FAILED,
                detail=_("The run queue was unreachable; start the run again."),
                finished=timezone.now(),
            )
            raise RunQueueUnavailable(
                _("The run queue is unreachable; try again in a minute.")
            ) from exc
    # "runner": the row is the message; the runner process polls for it.


def claim(model: Any, run_id: int) -> bool:
    """Mark this queued run running; ``False`` if another trainer has it (or had)."""
    return bool(
        model.objects.filter(pk=run_id, state=WorkState.QUEUED).update(
            state=WorkState.RUNNING, started=timezone.now()
        )
    )


def claim_next(model: Any) -> int | None:
    """Claim the oldest queued run of ``model``; its id, or ``None`` if none waits.

    PostgreSQL skips rows another runner is claiming (``SKIP LOCKED``); on SQLite
    the conditional update alone decides, and a lost race tries the next row.
    """
    for _attempt in range(5):
        with transaction.atomic():
            waiting = (
                model.objects.filter(state=WorkState.QUEUED)
                .order_by("created", "pk")
                .values_list("pk", flat=True)
            )
            if connection.features.has_select_for_update_skip_locked:
                waiting = waiting.select_for_update(skip_locked=True)
            run_id = waiting.first()
            if run_id is None:
                return None
            if claim(model, run_id):
                return run_id
    return None


def still_running(model: Any, run_id: int) -> Any:
    """The queryset a trainer writes through: only while the run is still its own
    (a run failed meanwhile as stale or interrupted is not turned back to done)."""
    return model.objects.filter(pk=run_id, state=WorkState.RUNNING)


def fail_stale_runs(
    model: Any, *, seconds: int, owner: AbstractBaseUser | None = None
) -> int:
    """Fail runs whose trainer is gone; returns how many.

    Running longer than ``seconds`` (the run's time cap, which its trainer enforces)
    plus ``STALE_MARGIN``: the process training it died. Queued longer than
    ``RUN_QUEUED_TIMEOUT``: no trainer is there to pick it up.
    """
    now = timezone.now()
    cutoff = now - (timedelta(seconds=seconds) + STALE_MARGIN)
    runs = model.objects.all() if owner is None else model.objects.filter(owner=owner)
    dead = runs.filter(state=WorkState.RUNNING).filter(
        Q(started__lt=cutoff) | Q(started__isnull=True, created__lt=cutoff)
    )
    count = dead.update(state=WorkState.FAILED, detail=INTERRUPTED, finished=now)
    queued_cutoff = now - timedelta(seconds=settings.RUN_QUEUED_TIMEOUT)
    count += runs.filter(state=WorkState.QUEUED, created__lt=queued_cutoff).update(
        state=WorkState.FAILED,
        detail=_(
            "No trainer picked this run up in time (the server's training "
            "worker is not running); tell your instructor."
        ),
        finished=now,
    )
    return count


def end_run(mine: Any, state: str = WorkState.DONE, **fields: Any) -> None:
    """Write a run's ending through ``still_running`` (its state, when, and what
    else it says): a run failed meanwhile as stale stays failed."""
    mine.update(state=state, finished=timezone.now(), **fields)


@contextmanager
def failing_on_error(mine: Any, what: str) -> Iterator[None]:
    """Around a trainer: any error ends the run failed with its message (the page
    must learn the run ended, whatever happened) and is logged, never raised."""
    try:
        yield
    except Exception as exc:
        logger.exception("%s failed", what)
        end_run(mine, WorkState.FAILED, detail=str(exc)[:500])


def get_run_for_user(
    model: Any, user: AbstractBaseUser, public_id: Any, *, seconds: int
) -> Any:
    """The owner's run of ``model`` (staff may see any), else 404. A run whose
    trainer died ends here, with a reason, not "running" forever (``seconds``: the
    run's time cap, as for ``fail_stale_runs``)."""
    runs = model.objects.all()
    if not user.is_staff:
        runs = runs.filter(owner=user)
    run = get_object_or_404(runs, public_id=public_id)
    if run.state in (WorkState.QUEUED, WorkState.RUNNING):
        fail_stale_runs(model, seconds=seconds, owner=run.owner)
        run.refresh_from_db()
    return run
