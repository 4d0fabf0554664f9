"""/api/v1/training-runs/: a student starts a bounded training run that runs off
the request, polls its curves, and cannot start a second one meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from demos.models import TrainingRun

URL = "/api/v1/training-runs/"


@pytest.fixture
def inline(settings) -> None:
    settings.TRAINING_RUN_BACKEND = "inline"


@pytest.mark.django_db
def test_a_run_trains_and_its_curves_can_be_read_back(
    logged_in_client: Client, user, inline, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in_client.post(
            URL, {"subset": 50, "epochs": 4, "dropout": 0.5, "augment": "true"}
        )
    assert response.status_code == 202
    started = response.json()
    assert started["state"] == "queued" and started["curves"] == []
    assert started["settings"]["augment"] is True
    body = logged_in_client.get(started["url"]).json()
    assert body["state"] == "done" and body["detail"] == ""
    assert [c["epoch"] for c in body["curves"]] == [1, 2, 3, 4]
    assert set(body["curves"][0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "train_accuracy",
        "val_accuracy",
        "learning_rate",
    }
    assert body["early_stopping"]["patience"] == 5
    assert 1 <= body["early_stopping"]["best_epoch"] <= 4
    run = TrainingRun.objects.get(owner=user)
    assert run.finished is not None and run.options["subset"] == 50


@pytest.mark.django_db
def test_a_second_run_is_refused_while_the_first_is_active(
    logged_in_client: Client, user
) -> None:
    TrainingRun.objects.create(owner=user, options={"subset": 50}, state="running")
    response = logged_in_client.post(URL, {"subset": 50})
    assert response.status_code == 409
    assert "still going" in response.json()["detail"]
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_a_run_abandoned_by_a_dead_process_no_longer_blocks(
    logged_in_client: Client, user, inline, settings
) -> None:
    old = TrainingRun.objects.create(owner=user, options={}, state="running")
    TrainingRun.objects.filter(pk=old.pk).update(
        created=timezone.now() - timedelta(seconds=settings.TRAINING_RUN_SECONDS + 61)
    )
    assert logged_in_client.post(URL, {"subset": 50, "epochs": 1}).status_code == 202
    old.refresh_from_db()
    assert old.state == "failed" and "interrupted" in old.detail


@pytest.mark.django_db
def test_the_time_cap_stops_a_run_and_says_so(
    logged_in_client: Client, inline, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TRAINING_RUN_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        started = logged_in_client.post(URL, {"subset": 50, "epochs": 60}).json()
    body = logged_in_client.get(started["url"]).json()
    assert body["state"] == "done"
    assert len(body["curves"]) == 1
    assert "time limit" in body["detail"]


@pytest.mark.django_db
def test_a_diverging_run_reports_an_infinite_loss_as_null(
    logged_in_client: Client, inline, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        started = logged_in_client.post(
            URL, {"subset": 100, "epochs": 3, "learning_rate": 2}
        ).json()
    response = logged_in_client.get(started["url"])
    assert response.status_code == 200  # valid JSON: no NaN or Infinity in it
    losses = [c["train_loss"] for c in response.json()["curves"]]
    assert all(v is None or v > 1 for v in losses)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"subset": 5},
        {"epochs": 61},
        {"learning_rate": "nan"},
        {"dropout": 0.95},
        {"optimizer": "rmsprop"},
        {"lr_step_size": -1},
        {"lr_gamma": 0},
        {"patience": 0},
        {"momentum": 0.5},  # unknown fields are still refused
    ],
)
def test_settings_out_of_bounds_are_a_400(
    logged_in_client: Client, fields: dict
) -> None:
    assert logged_in_client.post(URL, fields).status_code == 400
    assert TrainingRun.objects.count() == 0


@pytest.mark.django_db
def test_optimiser_schedule_and_patience_travel_with_the_run(
    logged_in_client: Client, user, inline, django_capture_on_commit_callbacks
) -> None:
    fields = {
        "subset": 20,
        "epochs": 9,
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "learning_rate": 0.0001,
        "lr_step_size": 3,
        "lr_gamma": 0.1,
        "patience": 2,
    }
    with django_capture_on_commit_callbacks(execute=True):
        started = logged_in_client.post(URL, fields).json()
    assert {k: started["settings"][k] for k in fields} == fields
    body = logged_in_client.get(started["url"]).json()
    rates = [c["learning_rate"] for c in body["curves"]]
    # Small rates survive the JSON rounding of the curves (1e-6 is not 0).
    assert rates == pytest.approx([1e-4] * 3 + [1e-5] * 3 + [1e-6] * 3, rel=1e-6)
    from demos.ml.schedules import early_stopping

    expected = early_stopping([c["val_loss"] for c in body["curves"]], 2)
    assert body["early_stopping"] == {
        "patience": 2,
        "best_epoch": expected.best_epoch,
        "stop_epoch": expected.stop_epoch,
    }


@pytest.mark.django_db
def test_a_run_saved_before_the_new_switches_still_reads_back(
    logged_in_client: Client, user
) -> None:
    run = TrainingRun.objects.create(
        owner=user,
        options={"subset": 50, "epochs": 2},
        state="done",
        curves=[{"epoch": 1, "val_loss": 2.0}, {"epoch": 2, "val_loss": 1.5}],
    )
    body = logged_in_client.get(f"{URL}{run.public_id}/").json()
    assert body["early_stopping"] == {
        "patience": 5,
        "best_epoch": 2,
        "stop_epoch": None,
    }


@pytest.mark.django_db
def test_runs_are_private_and_need_a_login(
    client: Client, other_client: Client, user
) -> None:
    run = TrainingRun.objects.create(owner=user, options={"epochs": 1})
    assert client.post(URL, {"subset": 50}).status_code == 401
    assert client.get(f"{URL}{run.public_id}/").status_code == 401
    assert other_client.get(f"{URL}{run.public_id}/").status_code == 404


@pytest.mark.django_db
def test_a_run_left_running_by_a_killed_worker_ends_when_read(
    logged_in_client: Client, user, settings
) -> None:
    # issue 21, finding 4 (part): a force-killed worker left runs "running" for good.
    stuck = TrainingRun.objects.create(owner=user, options={}, state="running")
    TrainingRun.objects.filter(pk=stuck.pk).update(
        created=timezone.now() - timedelta(seconds=settings.TRAINING_RUN_SECONDS + 61)
    )
    body = logged_in_client.get(f"{URL}{stuck.public_id}/").json()
    assert body["state"] == "failed" and "interrupted" in body["detail"]
