"""Training and transfer runs never train in a web worker (issue 21, finding 4).

Without Redis the web request only commits the run ``queued``; the separate runner
process (``manage.py run_training_worker``) claims and trains it. With Redis a
Celery worker does, sent by name. A run whose trainer died, or that no trainer
picked up, ends failed with a reason; stopping the runner settles its runs.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.http import Http404
from django.test import Client
from django.utils import timezone

from demos.models import TrainingRun, TransferRun
from demos.widgets import run_queue, runner, training_runs, transfer_runs
from portal.celery import app as celery_app

URL = "/api/v1/training-runs/"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def runner_backend(settings) -> None:
    settings.TRAINING_RUN_BACKEND = "runner"


def _training_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "Run-" in t.name]


@pytest.mark.django_db(transaction=True)
def test_the_web_request_only_queues_and_the_runner_trains(
    logged_in_client: Client, runner_backend
) -> None:
    response = logged_in_client.post(URL, {"subset": 50, "epochs": 2})
    assert response.status_code == 202
    url = response.json()["url"]
    time.sleep(0.2)
    # Nothing trains in the web process: the run waits for the runner.
    assert logged_in_client.get(url).json()["state"] == "queued"
    assert _training_threads() == []

    runner.Runner(poll=0.05).drain(timeout=60)

    body = logged_in_client.get(url).json()
    assert body["state"] == "done", body["detail"]
    assert [c["epoch"] for c in body["curves"]] == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_the_command_once_trains_what_is_queued(user, runner_backend) -> None:
    from demos.ml.training import TrainingSettings

    run = training_runs.start_training_run(
        owner=user, options=TrainingSettings(subset=50, epochs=1)
    )
    out = StringIO()
    call_command("run_training_worker", "--once", stdout=out)
    run.refresh_from_db()
    assert run.state == "done" and len(run.curves) == 1
    assert "trained" in out.getvalue()


def test_with_celery_the_command_says_who_trains_and_exits(settings) -> None:
    settings.TRAINING_RUN_BACKEND = "celery"
    out = StringIO()
    call_command("run_training_worker", stdout=out)
    assert "Celery workers train them" in out.getvalue()


@pytest.mark.django_db
def test_a_claim_is_taken_once(user) -> None:
    first = TrainingRun.objects.create(owner=user, options={})
    second = TrainingRun.objects.create(owner=user, options={})
    assert run_queue.claim_next(TrainingRun) == first.pk  # oldest first
    assert run_queue.claim(TrainingRun, first.pk) is False  # a re-delivered task
    assert run_queue.claim_next(TrainingRun) == second.pk
    assert run_queue.claim_next(TrainingRun) is None
    first.refresh_from_db()
    assert first.state == "running" and first.started is not None


@pytest.mark.django_db
def test_a_run_whose_runner_died_fails_with_a_reason(user, settings) -> None:
    long_ago = timezone.now() - timedelta(seconds=settings.TRAINING_RUN_SECONDS + 61)
    dead = TrainingRun.objects.create(owner=user, options={}, state="running")
    TrainingRun.objects.filter(pk=dead.pk).update(started=long_ago)
    alive = TrainingRun.objects.create(
        owner=user, options={}, state="running", started=timezone.now()
    )
    assert runner.Runner().sweep() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.state == "failed" and "interrupted" in dead.detail
    assert dead.finished is not None
    assert alive.state == "running"


@pytest.mark.django_db
def test_a_long_queue_is_not_failed_but_a_forgotten_run_is(user, settings) -> None:
    # A run waiting behind 30 others is not "interrupted" (it never started);
    # one no trainer picked up in RUN_QUEUED_TIMEOUT fails with why.
    waiting = TrainingRun.objects.create(owner=user, options={})
    TrainingRun.objects.filter(pk=waiting.pk).update(
        created=timezone.now() - timedelta(seconds=settings.TRAINING_RUN_SECONDS * 20)
    )
    assert training_runs.fail_stale_runs() == 0
    TrainingRun.objects.filter(pk=waiting.pk).update(
        created=timezone.now() - timedelta(seconds=settings.RUN_QUEUED_TIMEOUT + 1)
    )
    assert training_runs.fail_stale_runs() == 1
    waiting.refresh_from_db()
    assert waiting.state == "failed" and "tell your instructor" in waiting.detail


@pytest.mark.django_db(transaction=True)
def test_stopping_the_runner_fails_its_runs_in_flight(user, other_user) -> None:
    release = threading.Event()
    started: list[int] = []

    def blocked(run_id: int) -> None:
        started.append(run_id)
        release.wait(30)
        run_queue.still_running(TrainingRun, run_id).update(state="done")

    one = TrainingRun.objects.create(owner=user, options={})
    two = TrainingRun.objects.create(owner=other_user, options={})
    worker = runner.Runner(training_slots=1, poll=0.02)
    worker.lanes[0].train = blocked
    stop = threading.Event()
    serving = threading.Thread(target=worker.serve, args=(stop,), kwargs={"grace": 0})
    serving.start()
    deadline = time.monotonic() + 10
    while not started and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    serving.join(10)
    release.set()

    one.refresh_from_db()
    two.refresh_from_db()
    assert started == [one.pk]  # one slot: the second waited in the queue
    assert one.state == "failed" and "stopped during this run" in one.detail
    assert two.state == "queued"  # left for the next runner
    time.sleep(0.1)
    one.refresh_from_db()
    assert one.state == "failed"  # the late thread cannot turn it back to done


@pytest.mark.django_db(transaction=True)
def test_a_transfer_run_takes_its_own_single_slot(user, other_user) -> None:
    release = threading.Event()
    started: list[int] = []

    def blocked(run_id: int) -> None:
        started.append(run_id)
        release.wait(30)
        run_queue.still_running(TransferRun, run_id).update(state="done")

    first = TransferRun.objects.create(owner=user, options={})
    second = TransferRun.objects.create(owner=other_user, options={})
    worker = runner.Runner(poll=0.02)
    worker.lanes[1].train = blocked
    assert worker.tick() == 1
    assert worker.tick() == 0  # one transfer run at a time
    release.set()
    worker.lanes[1].running[first.pk].join(10)
    assert worker.tick() == 1
    worker.lanes[1].running[second.pk].join(10)
    assert started == [first.pk, second.pk]
    assert TransferRun.objects.filter(state="done").count() == 2


@pytest.mark.django_db(transaction=True)
def test_with_celery_the_run_is_sent_by_name_and_trained_by_the_task(
    user, settings
) -> None:
    from demos.ml.training import TrainingSettings

    settings.TRAINING_RUN_BACKEND = "celery"
    sent: list[tuple[str, list]] = []
    real = celery_app.signature

    def recording(name: str, *args, **kwargs):
        sent.append((name, kwargs.get("args")))
        return real(name, *args, **kwargs)

    # Test settings run Celery eagerly: the named task trains the run at once.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(celery_app, "signature", recording)
        run = training_runs.start_training_run(
            owner=user, options=TrainingSettings(subset=50, epochs=1)
        )
    assert sent == [("demos.tasks.run_training_run", [run.pk])]
    run.refresh_from_db()
    assert run.state == "done" and len(run.curves) == 1


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_broker_is_a_503_and_the_run_fails(
    logged_in_client: Client, settings, monkeypatch
) -> None:
    settings.TRAINING_RUN_BACKEND = "celery"

    class Refusing:
        def apply_async(self) -> None:
            raise OSError("connection refused")

    monkeypatch.setattr(celery_app, "signature", lambda *a, **k: Refusing())
    response = logged_in_client.post(URL, {"subset": 50, "epochs": 1})
    assert response.status_code == 503
    assert "unreachable" in response.json()["detail"]
    run = TrainingRun.objects.get()
    assert run.state == "failed" and "start the run again" in run.detail


def test_gunicorn_workers_hold_no_runs_and_make_run_starts_the_runner(
    monkeypatch,
) -> None:
    import runpy

    monkeypatch.delenv("GUNICORN_PRELOAD", raising=False)
    config = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert "worker_exit" not in config  # nothing to finish or abandon on exit
    # New workers fork from a loaded master: no import gap while old ones go.
    assert config["preload_app"] is True
    config["when_ready"](None)  # builds the URLconf; leaves no connection open
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "manage.py run_training_worker &" in recipe
    assert recipe.index("run_training_worker") < recipe.index("gunicorn -c")


KINDS = [
    pytest.param(training_runs, TrainingRun, {"epochs": "many"}, id="training"),
    pytest.param(transfer_runs, TransferRun, {}, id="transfer"),  # no ZIP on disk
]


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "model", "options"), KINDS)
def test_a_trainer_that_raises_ends_its_run_failed_with_the_reason(
    kind, model, options, user, private_media
) -> None:
    run = model.objects.create(owner=user, options=options, state="running")

    kind.train_claimed_run(run.pk)  # never raises

    run.refresh_from_db()
    assert run.state == "failed" and run.detail and run.finished is not None


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "model", "options"), KINDS)
def test_a_run_is_its_owners_and_staffs_and_a_dead_one_is_settled_when_read(
    kind, model, options, user, other_user, settings
) -> None:
    run = model.objects.create(owner=user, options=options, state="running")
    model.objects.filter(pk=run.pk).update(started=timezone.now() - timedelta(hours=2))
    read = {
        training_runs: training_runs.get_training_run_for_user,
        transfer_runs: transfer_runs.get_transfer_run_for_user,
    }[kind]

    with pytest.raises(Http404):
        read(other_user, run.public_id)
    other_user.is_staff = True
    assert read(other_user, run.public_id).pk == run.pk
    seen = read(user, run.public_id)
    assert seen.state == "failed" and "interrupted" in seen.detail


@pytest.mark.django_db(transaction=True)
def test_the_runner_exports_old_transfer_runs_beside_its_polling(monkeypatch) -> None:
    """Runs finished before predictions ran on ONNX get their export when the
    runner starts, in a thread of its own: the queue is not held up."""
    exporting = threading.Event()
    release = threading.Event()

    def export_missing() -> int:
        exporting.set()
        release.wait(10)
        return 0

    monkeypatch.setattr(transfer_runs, "export_missing_predictors", export_missing)
    stop = threading.Event()
    stop.set()  # serve returns at once, while the export still runs
    runner.Runner(poll=0.02).serve(stop, grace=0)
    assert exporting.wait(5)
    release.set()
