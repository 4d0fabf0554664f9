"""Transfer-learning runs of the transfer-learning widget: start one, run it off the
request, read it back while it grows, predict new photos with what it learnt.

A run is a ``TransferRun`` row plus a folder ``MEDIA_ROOT/transfer/<public id>/``
holding the uploaded ``dataset.zip`` and, once done, ``trained.pt`` (only the part
of the network that learnt). ``start_transfer_run`` reads the ZIP first
(``demos.ml.transfer.read_image_folder_zip``: a bad ZIP is refused with its reason
and nothing is kept), then commits the row and hands its id to a one-thread pool,
so the web worker answers at once. Bounds: one active run per student (a second
start is refused), ``TRANSFER_RUN_SECONDS`` per run (training stops and says so),
the ZIP limits of ``demos.ml.transfer``. A run left "running" by a process that
died is failed once it is older than its time cap. ``TRAINING_RUN_INLINE`` (tests)
runs the job in the committing thread.

torch is imported inside the job, so importing this module loads nothing heavy.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import close_old_connections, transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from demos.models import TransferRun
from portal.lib.errors import BadInput

logger = logging.getLogger(__name__)
STALE_MARGIN = timedelta(seconds=60)
DATASET = "dataset.zip"
TRAINED = "trained.pt"

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


class TransferRunBusy(BadInput):
    """The student already has a run queued or running (→ 409)."""


class RunNotReady(BadInput):
    """Predictions need a finished run."""


def run_folder(run: TransferRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "transfer" / str(run.public_id)


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            # One at a time: a run holds a CNN and its cached features in memory.
            _executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="transfer-run"
            )
        return _executor


def _fail_stale_runs(owner: AbstractBaseUser) -> None:
    cutoff = timezone.now() - (
        timedelta(seconds=settings.TRANSFER_RUN_SECONDS) + STALE_MARGIN
    )
    TransferRun.objects.filter(
        owner=owner,
        state__in=[TransferRun.State.QUEUED, TransferRun.State.RUNNING],
        created__lt=cutoff,
    ).update(
        state=TransferRun.State.FAILED,
        detail="The run was interrupted (the server restarted).",
        finished=timezone.now(),
    )


def start_transfer_run(
    *, owner: AbstractBaseUser, dataset: bytes, options: dict[str, Any]
) -> TransferRun:
    """Check the ZIP and the settings, then queue a run for ``owner``.

    Raises ``DatasetRefused`` (a ``BadInput``) for a ZIP that cannot be used,
    ``ValueError`` for impossible settings and ``TransferRunBusy`` while the owner's
    previous run is still active. Nothing is written unless all of these pass.
    """
    from demos.ml import transfer

    settings_ = transfer.TransferSettings(**options)
    folder_data = transfer.read_image_folder_zip(io.BytesIO(dataset))
    folder: Path | None = None
    try:
        with transaction.atomic():
            # Lock the owner's row so two quick clicks cannot start two runs.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            _fail_stale_runs(owner)
            if TransferRun.objects.filter(
                owner=owner,
                state__in=[TransferRun.State.QUEUED, TransferRun.State.RUNNING],
            ).exists():
                raise TransferRunBusy(
                    _(
                        "Your previous transfer run is still going; "
                        "wait for it to finish."
                    )
                )
            run = TransferRun(
                owner=owner, options=vars(settings_), classes=folder_data.classes
            )
            run.full_clean()
            run.save()
            folder = run_folder(run)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / DATASET).write_bytes(dataset)
            run_id = run.pk
            if settings.TRAINING_RUN_INLINE:
                transaction.on_commit(lambda: run_transfer(run_id))
            else:
                transaction.on_commit(lambda: _pool().submit(_in_thread, run_id))
    except BaseException:
        if folder is not None:  # no row, so no files either
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return run


def _in_thread(run_id: int) -> None:
    try:
        run_transfer(run_id)
    finally:
        close_old_connections()  # this thread's own connection


def _number(value: float) -> float | None:
    return round(value, 5) if math.isfinite(value) else None


def run_transfer(run_id: int) -> None:
    """Train one queued run, saving the curves after every epoch; never raises."""
    import torch

    from demos.ml import transfer
    from models_store.tracing import TRACING

    run = TransferRun.objects.filter(pk=run_id, state=TransferRun.State.QUEUED).first()
    if run is None:
        return
    TransferRun.objects.filter(pk=run_id).update(
        state=TransferRun.State.RUNNING, started=timezone.now()
    )
    curves: list[dict[str, Any]] = []
    deadline = time.monotonic() + settings.TRANSFER_RUN_SECONDS

    def on_epoch(epoch: Any) -> None:
        curves.append(
            {
                "epoch": epoch.epoch,
                "lr": epoch.lr,
                "train_loss": _number(epoch.train_loss),
                "train_accuracy": _number(epoch.train_accuracy),
                "val_loss": _number(epoch.val_loss),
                "val_accuracy": _number(epoch.val_accuracy),
                "seconds": round(epoch.seconds, 2),
            }
        )
        TransferRun.objects.filter(pk=run_id).update(curves=list(curves))

    try:
        torch.set_num_threads(max(1, int(getattr(settings, "TORCH_THREADS", 1))))
        options = transfer.TransferSettings(**run.options)
        folder = run_folder(run)
        data = transfer.read_image_folder_zip(folder / DATASET)
        detail = ""
        try:
            # A run like any other (models_store.tracing): no trace may overlap it.
            with TRACING:
                result = transfer.train(
                    data,
                    options,
                    on_epoch=on_epoch,
                    should_stop=lambda: time.monotonic() > deadline,
                )
        except transfer.Stopped:
            TransferRun.objects.filter(pk=run_id).update(
                state=TransferRun.State.FAILED,
                detail=_("Stopped at the time limit of %(seconds)s seconds.")
                % {"seconds": settings.TRANSFER_RUN_SECONDS},
                finished=timezone.now(),
            )
            return
        transfer.save_trained(folder / TRAINED, result)
        summary = {
            "val_accuracy": _number(result.val_accuracy),
            "confusion": result.confusion,
            "wrong": [
                {
                    "name": wrong.name,
                    "true": result.classes[wrong.true_label],
                    "predicted": result.classes[wrong.predicted_label],
                    "probability": _number(wrong.probability),
                }
                for wrong in result.wrong[:50]
            ],
            "frozen_parameters": result.frozen.frozen,
            "total_parameters": result.frozen.total,
            "frozen_percent": round(result.frozen.percent, 2),
            "seconds": round(result.seconds, 1),
            "lr_timeline": transfer.lr_timeline(
                options.lr, options.step_size, options.gamma, options.epochs
            ),
            "code": transfer.pytorch_code(options, result.classes),
        }
        TransferRun.objects.filter(pk=run_id).update(
            state=TransferRun.State.DONE,
            result=summary,
            detail=detail,
            finished=timezone.now(),
        )
    except Exception as exc:  # the page must learn the run ended, whatever happened
        logger.exception("Transfer run %s failed", run_id)
        TransferRun.objects.filter(pk=run_id).update(
            state=TransferRun.State.FAILED,
            detail=str(exc)[:500],
            finished=timezone.now(),
        )


def get_transfer_run_for_user(user: AbstractBaseUser, public_id: Any) -> TransferRun:
    """The owner's run (staff may see any), else 404."""
    runs = TransferRun.objects.all()
    if not user.is_staff:
        runs = runs.filter(owner=user)
    return get_object_or_404(runs, public_id=public_id)


def predict_with_run(run: TransferRun, rgb: Any) -> dict[str, Any]:
    """``{"label", "probability", "top"}`` for an RGB photo with a finished run."""
    from PIL import Image

    from demos.ml import transfer

    path = run_folder(run) / TRAINED
    if run.state != TransferRun.State.DONE or not path.is_file():
        raise RunNotReady(_("This run has not finished training yet."))
    # Built per request (about half a second): one network per finished run kept
    # in memory would grow without bound.
    predictor = transfer.load_predictor(path)
    prediction = predictor.predict(Image.fromarray(rgb))
    return {
        "label": prediction.label,
        "probability": round(prediction.probability, 5),
        "top": [
            {"label": item.label, "probability": round(item.probability, 5)}
            for item in prediction.top
        ],
    }


def wait_for_pool() -> None:
    """Finish every queued run (tests and shutdown); a new pool starts on demand."""
    global _executor
    with _executor_lock:
        pool, _executor = _executor, None
    if pool is not None:
        pool.shutdown(wait=True)
