"""Transfer-learning runs through the API: start, poll, predict; bad ZIPs; owners."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from demos.models import TransferRun
from demos.widgets import transfer_runs
from tests.demos.ml.zips import SAMPLES_DIR, jpeg

pytestmark = pytest.mark.django_db
RUNS = "/api/v1/transfer-runs/"


@pytest.fixture(autouse=True)
def inline(settings) -> None:
    settings.TRAINING_RUN_BACKEND = "inline"
    cache.clear()  # upload throttle counts


def crops(name: str, count: int) -> list[bytes]:
    image = Image.open(SAMPLES_DIR / name).convert("RGB")
    width, height = image.size
    out = []
    for i in range(count):
        left, top = i * width // (4 * count), i * height // (4 * count)
        out.append(
            jpeg(image.crop((left, top, width - left, height - top)).resize((96, 96)))
        )
    return out


def cats_vs_planes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, name in (
            ("cat", "nobody/chelsea.png"),
            ("plane", "nobody/plane.jpg"),
        ):
            for i, data in enumerate(crops(name, 5)):
                archive.writestr(f"{label}/{i}.jpg", data)
    return buffer.getvalue()


def upload(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def start(client: Client, data: bytes, **fields):
    return client.post(
        RUNS,
        {"dataset": upload(data, "classes.zip"), "model": "mobilenet_v2", **fields},
    )


def test_a_run_trains_predicts_and_reports_every_epoch(
    logged_in_client: Client, other_client: Client, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = start(logged_in_client, cats_vs_planes(), epochs=3, step_size=2)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["url"].endswith(f"{RUNS}{body['id']}/")
    run = logged_in_client.get(body["url"]).json()
    assert run["state"] == "done", run["detail"]
    assert run["classes"] == ["cat", "plane"]
    assert [row["epoch"] for row in run["epochs"]] == [1, 2, 3]
    assert [row["lr"] for row in run["epochs"]] == pytest.approx([1e-3, 1e-3, 1e-4])
    assert len(run["train_loss"]) == len(run["val_loss"]) == 3
    assert 0.0 <= run["val_accuracy"] <= 1.0
    assert sum(map(sum, run["result"]["confusion"])) == 2  # one per class held out
    assert "StepLR" in run["result"]["code"]
    # Someone else's run does not exist for them.
    assert other_client.get(body["url"]).status_code == 404
    cat = upload(jpeg(Image.open(SAMPLES_DIR / "nobody/chelsea.png")), "cat.jpg")
    assert (
        other_client.post(body["url"] + "predict/", {"image": cat}).status_code == 404
    )
    cat.seek(0)
    prediction = logged_in_client.post(body["url"] + "predict/", {"image": cat})
    assert prediction.status_code == 200, prediction.content
    answer = prediction.json()
    assert answer["label"] in ("cat", "plane")
    assert [row["label"] for row in answer["top"]][0] == answer["label"]
    assert sum(row["probability"] for row in answer["top"]) == pytest.approx(
        1, abs=1e-3
    )


def test_a_bad_zip_gets_its_reason_and_nothing_is_kept(
    logged_in_client: Client, private_media: Path
) -> None:
    one_class = io.BytesIO()
    with zipfile.ZipFile(one_class, "w") as archive:
        archive.writestr("cat/a.jpg", crops("nobody/chelsea.png", 1)[0])
        archive.writestr("cat/b.jpg", crops("nobody/chelsea.png", 1)[0])
    response = start(logged_in_client, one_class.getvalue())
    assert response.status_code == 400
    assert "one class (cat)" in response.json()["detail"]
    response = start(logged_in_client, b"not a zip at all")
    assert response.status_code == 400
    assert "not a ZIP" in response.json()["detail"]
    assert not TransferRun.objects.exists()
    assert not (private_media / "transfer").exists() or not any(
        (private_media / "transfer").iterdir()
    )


def test_a_second_run_waits_for_the_first(logged_in_client: Client, user) -> None:
    TransferRun.objects.create(owner=user, options={}, state=TransferRun.State.RUNNING)
    response = start(logged_in_client, cats_vs_planes(), epochs=1)
    assert response.status_code == 409
    assert TransferRun.objects.count() == 1


def test_predicting_before_the_run_is_done_is_refused(user) -> None:
    run = TransferRun.objects.create(owner=user, options={})
    with pytest.raises(transfer_runs.RunNotReady):
        transfer_runs.predict_with_run(run, None)
