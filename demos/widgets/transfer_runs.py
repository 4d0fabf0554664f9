"""Transfer-learning runs of the transfer-learning widget: start one, run it off the
request, read it back while it grows, predict new photos with what it learnt.

A run is a ``TransferRun`` row plus a folder ``MEDIA_ROOT/transfer/<public id>/``
holding the uploaded ``dataset.zip`` (none when the run trains on an instructor's
class dataset, ``transfer_datasets.py``: it reads that ZIP) and, once done,
``trained.pt`` (only the part of the network that learnt) and its export for
predictions, ``predict.onnx`` + ``predict.npz`` (``demos.ml.transfer_onnx``: top
classes and the class activation map on ONNX Runtime, so a web worker predicting
never imports torch). ``start_transfer_run``
reads the ZIP first (``demos.ml.image_folder.read_image_folder_zip``: a bad ZIP is
refused with its reason
and nothing is kept), then commits the row ``queued`` and hands it to its trainer
(``demos/widgets/run_queue.py``: a Celery worker with Redis, else the separate
training runner process, one transfer run at a time; never a web worker), so the
web worker answers at once. Bounds: one active run per student (a second start is
refused), ``TRANSFER_RUN_SECONDS`` per run (training stops and says so), the ZIP
limits of ``demos.ml.image_folder``. A run whose trainer died is failed with a reason
(``run_queue.fail_stale_runs``).

torch is imported inside the job (which also exports the trained network), so
importing this module loads nothing heavy.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import time
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from demos.common import sweeper
from demos.ml import transfer_onnx
from demos.ml.image_folder import read_image_folder_zip
from demos.ml.transfer_settings import TransferSettings, lr_timeline
from demos.models import ClassDataset, TransferRun
from demos.widgets import run_queue, transfer_datasets
from models_store import loading
from portal.lib.errors import BadInput, ServiceUnavailable

logger = logging.getLogger(__name__)

TRANSFER_DIR = "transfer"  # under MEDIA_ROOT, a local folder whatever the storage
DATASET = "dataset.zip"
TRAINED = "trained.pt"
EXPORT_FILES = (transfer_onnx.ONNX_NAME, transfer_onnx.ARRAYS_NAME)
# Runs' predictors a web worker keeps built (a few tens of MB each): students
# trying their own run's photos one after another, without growing per run.
PREDICTORS_KEPT = 2


class TransferRunBusy(BadInput):
    """The student already has a run queued or running (→ 409)."""


class RunNotReady(BadInput):
    """Predictions need a finished run."""


class PredictorNotExported(ServiceUnavailable):
    """A finished run without its ONNX export yet (→ 503: try again later)."""


def run_folder(run: TransferRun) -> Path:
    return Path(settings.MEDIA_ROOT) / TRANSFER_DIR / str(run.public_id)


def fail_stale_runs(owner: AbstractBaseUser | None = None) -> int:
    """Fail runs (``owner``'s, or everyone's) whose trainer died; how many."""
    return run_queue.fail_stale_runs(
        TransferRun, seconds=settings.TRANSFER_RUN_SECONDS, owner=owner
    )


def start_transfer_run(
    *,
    owner: AbstractBaseUser,
    options: dict[str, Any],
    dataset: bytes | None = None,
    class_dataset: ClassDataset | None = None,
) -> TransferRun:
    """Check the ZIP and the settings, then queue a run for ``owner``.

    The images: ``dataset`` (a ZIP's bytes, checked here) or ``class_dataset``
    (checked at its upload); exactly one.

    Raises ``DatasetRefused`` (a ``BadInput``) for a ZIP that cannot be used,
    ``ValueError`` for impossible settings and ``TransferRunBusy`` while the owner's
    previous run is still active. Nothing is written unless all of these pass.
    """
    if (dataset is None) == (class_dataset is None):
        raise ValueError("start_transfer_run takes dataset or class_dataset")
    settings_ = TransferSettings(**options)
    if dataset is not None:
        classes = read_image_folder_zip(io.BytesIO(dataset)).classes
    elif class_dataset is not None:
        classes = class_dataset.class_names
    folder: Path | None = None
    try:
        with transaction.atomic():
            # Lock the owner's row so two quick clicks cannot start two runs.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            fail_stale_runs(owner)
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
                owner=owner,
                options=vars(settings_),
                classes=classes,
                class_dataset=class_dataset,
            )
            run.full_clean()
            run.save()
            folder = run_folder(run)
            folder.mkdir(parents=True, exist_ok=True)
            if dataset is not None:
                (folder / DATASET).write_bytes(dataset)
            transaction.on_commit(
                partial(
                    run_queue.queue_run,
                    TransferRun,
                    run.pk,
                    task_name=run_queue.TRANSFER_TASK,
                    train=run_transfer,
                )
            )
    except BaseException:
        if folder is not None:  # no row, so no files either
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return run


def dataset_source(run: TransferRun) -> Path | BinaryIO:
    """The run's ZIP: its class dataset's, else its own ``dataset.zip``."""
    if run.class_dataset is not None:
        return transfer_datasets.dataset_zip(run.class_dataset)
    return run_folder(run) / DATASET


def delete_transfer_run(*, run: TransferRun) -> None:
    """Delete the row, then its folder (rows first: a row never lacks files)."""
    folder = run_folder(run)
    with transaction.atomic():
        run.delete()
    shutil.rmtree(folder, ignore_errors=True)


def _number(value: float) -> float | None:
    return round(value, 5) if math.isfinite(value) else None


def run_transfer(run_id: int) -> None:
    """Claim this queued run and train it (a Celery task, or inline in tests);
    a run another trainer claimed already is left alone. Never raises."""
    if run_queue.claim(TransferRun, run_id):
        train_claimed_run(run_id)


def train_claimed_run(run_id: int) -> None:
    """Train a run this process claimed, saving the curves after every epoch;
    never raises. Writes go through ``still_running``: a run failed meanwhile
    (stale, or its runner stopping) stays failed."""
    import torch

    from demos.ml import transfer
    from models_store.tracing import TRACING

    run = TransferRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    mine = run_queue.still_running(TransferRun, run_id)
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
        mine.update(curves=list(curves))

    with run_queue.failing_on_error(mine, f"Transfer run {run_id}"):
        torch.set_num_threads(max(1, int(getattr(settings, "TORCH_THREADS", 1))))
        options = TransferSettings(**run.options)
        folder = run_folder(run)
        data = read_image_folder_zip(dataset_source(run))
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
            run_queue.end_run(
                mine,
                TransferRun.State.FAILED,
                detail=_("Stopped at the time limit of %(seconds)s seconds.")
                % {"seconds": settings.TRANSFER_RUN_SECONDS},
            )
            return
        transfer.save_trained(folder / TRAINED, result)
        # Before the run is "done", so its first prediction finds the export.
        export_predictor(folder)
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
            "lr_timeline": lr_timeline(
                options.lr, options.step_size, options.gamma, options.epochs
            ),
            "code": transfer.pytorch_code(options, result.classes),
        }
        run_queue.end_run(mine, result=summary, detail=detail)


def get_transfer_run_for_user(user: AbstractBaseUser, public_id: Any) -> TransferRun:
    """The owner's run (staff may see any), else 404; a dead one ends failed."""
    return run_queue.get_run_for_user(
        TransferRun, user, public_id, seconds=settings.TRANSFER_RUN_SECONDS
    )


def export_predictor(folder: Path) -> bool:
    """Export a run's ``trained.pt`` for ONNX predictions (a torch job: the
    trainer's, never a web worker's); whether it worked. A failure is logged and
    leaves the run without an export: training succeeded, its curves stand, and
    the runner tries again when it next starts (``export_missing_predictors``)."""
    from demos.ml import transfer
    from models_store.tracing import TRACING

    try:
        with TRACING:  # the exporter traces the network: no torch.fx trace meanwhile
            transfer.export_onnx(folder / TRAINED, folder)
    except Exception:
        logger.exception("Transfer run in %s: ONNX export failed", folder)
        return False
    return True


def export_missing_predictors() -> int:
    """Export finished runs that have no intact export (runs trained before
    predictions moved to ONNX, an export that failed or was damaged); how many were
    exported. The runner calls it when it starts; with Celery, ``manage.py
    run_training_worker --once`` does."""
    exported = 0
    for run in TransferRun.objects.filter(state=TransferRun.State.DONE).iterator():
        folder = run_folder(run)
        if (folder / TRAINED).is_file() and not transfer_onnx.is_exported(folder):
            exported += export_predictor(folder)
    return exported


def _predictor(folder: Path) -> transfer_onnx.OnnxPredictor:
    arrays = folder / transfer_onnx.ARRAYS_NAME
    try:
        stamp = arrays.stat().st_mtime_ns  # a re-export is another predictor
        return loading.recent(
            ("transfer-onnx", str(folder), stamp),
            lambda: transfer_onnx.OnnxPredictor(folder, loading.threads()),
            keep=PREDICTORS_KEPT,
        )
    except (OSError, transfer_onnx.ExportMissing) as exc:
        # A run finished before predictions ran on ONNX (or whose export failed):
        # the runner exports it when it starts. Not torch here instead: one
        # prediction would leave a web worker 670 MB larger for good.
        raise PredictorNotExported(
            _(
                "This run's network is not ready for predictions yet; it is "
                "prepared when the training worker starts. Try again later."
            )
        ) from exc


def predict_with_run(run: TransferRun, rgb: Any) -> dict[str, Any]:
    """``{"label", "probability", "top", "cam"}`` for an RGB photo with a finished
    run, on ONNX Runtime; ``cam``: the class activation map of the top class
    (``label``; ``grid``: rows of 0..1 over the photo, as the feature-map API's)."""
    from PIL import Image

    from demos.ml.networks import photo_grid

    folder = run_folder(run)
    if run.state != TransferRun.State.DONE or not (folder / TRAINED).is_file():
        raise RunNotReady(_("This run has not finished training yet."))
    prediction = _predictor(folder).predict(Image.fromarray(rgb))
    label, probability = prediction.top[0]
    return {
        "label": label,
        "probability": round(probability, 5),
        "top": [
            {"label": name, "probability": round(value, 5)}
            for name, value in prediction.top
        ],
        "cam": {
            "label": label,
            "grid": photo_grid(prediction.cam, rgb.shape[0], rgb.shape[1]),
        },
    }


def _judge_transfer_files(names: list[str]) -> dict[str, sweeper.Verdict]:
    """``<public id>/<file>`` under ``transfer/``: a run's checkpoint and its
    export for predictions are live while its row is; its ZIP (the student's
    photos) only until the run ends, since nothing reads it after training.
    Files of no run are orphans."""
    states = sweeper.row_states(
        TransferRun, names, public_id_of=lambda name: name.partition("/")[0]
    )
    active = (TransferRun.State.QUEUED, TransferRun.State.RUNNING)
    verdicts = {}
    for name, state in states.items():
        file = name.partition("/")[2]
        if file == TRAINED or file in EXPORT_FILES:
            verdicts[name] = sweeper.Verdict.LIVE
        elif file == DATASET:
            live = state in active
            verdicts[name] = sweeper.Verdict.LIVE if live else sweeper.Verdict.ENDED
    return verdicts


# A run being started has its ZIP on disk just before its row commits: the grace.
TRANSFER_FILES = sweeper.register(
    sweeper.Owner(
        key="transfer",
        prefix=TRANSFER_DIR,
        judge=_judge_transfer_files,
        grace_seconds=3600,
        storage=lambda: sweeper.folder_storage(settings.MEDIA_ROOT),
        summary="{removed} file(s) of ended or deleted transfer runs.",
        item="transfer file",
    )
)
