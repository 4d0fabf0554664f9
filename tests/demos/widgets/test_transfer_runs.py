"""Transfer-learning runs through the API: start, poll, predict (on the run's ONNX
export, with its class activation map); bad ZIPs; owners."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from demos.ml import transfer
from demos.models import TransferRun
from demos.widgets import transfer_runs
from tests.demos.ml.zips import SAMPLES_DIR, jpeg
from tests.fresh_process import run_in_fresh_process

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
    # The run was exported as it ended; the answer is the torch network's.
    folder = transfer_runs.run_folder(TransferRun.objects.get())
    assert {"predict.onnx", "predict.npz"} <= {p.name for p in folder.iterdir()}
    cat.seek(0)
    expected = transfer.load_predictor(folder / "trained.pt").predict(
        Image.open(cat).convert("RGB")
    )
    assert [row["probability"] for row in answer["top"]] == pytest.approx(
        [row.probability for row in expected.top], abs=1e-4
    )
    # Its class activation map over the photo (451 x 300: 19 x 28 cells).
    assert answer["cam"]["label"] == answer["label"]
    grid = answer["cam"]["grid"]
    assert (len(grid), len(grid[0])) == (19, 28)
    assert all(0.0 <= v <= 1.0 for row in grid for v in row)
    assert max(max(row) for row in grid) > 0.5


def test_a_run_without_its_export_waits_for_the_runner_to_make_it(
    logged_in_client: Client, django_capture_on_commit_callbacks
) -> None:
    """Runs trained before predictions ran on ONNX: a 503 that says so, never
    torch in the web worker; the runner exports them when it starts."""
    with django_capture_on_commit_callbacks(execute=True):
        url = start(logged_in_client, cats_vs_planes(), epochs=1).json()["url"]
    folder = transfer_runs.run_folder(TransferRun.objects.get())
    for name in transfer_runs.EXPORT_FILES:
        (folder / name).unlink()
    plane = jpeg(Image.open(SAMPLES_DIR / "nobody/plane.jpg"))

    response = logged_in_client.post(
        url + "predict/", {"image": upload(plane, "p.jpg")}
    )
    assert response.status_code == 503
    assert "not ready for predictions yet" in response.json()["detail"]

    assert transfer_runs.export_missing_predictors() == 1
    assert transfer_runs.export_missing_predictors() == 0  # nothing left to do
    graph = folder / "predict.onnx"
    graph.write_bytes(graph.read_bytes()[:-4])  # damaged: exported again
    assert transfer_runs.export_missing_predictors() == 1
    response = logged_in_client.post(
        url + "predict/", {"image": upload(plane, "p.jpg")}
    )
    assert response.status_code == 200, response.content
    assert response.json()["cam"]["label"] == response.json()["label"]


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


FRESH_WORKER = """
import django, sys
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from django.test.utils import setup_test_environment
from demos.models import TransferRun
from tests.factories import make_user

setup_test_environment()  # "testserver" is an allowed host
user = make_user()
TransferRun.objects.create(owner=user, public_id="{public_id}", options={options!r},
                           classes={classes!r}, state="done")
client = Client()
client.force_login(user)
for kind in ("sine", "sawtooth"):
    gates = client.get("/api/v1/cnn/lstm-gates/", {{"kind": kind}})
    assert gates.status_code == 200 and len(gates.json()["cell"]) == 72, gates
with open("{photo}", "rb") as photo:
    answer = client.post("/api/v1/transfer-runs/{public_id}/predict/",
                         {{"image": photo}})
assert answer.status_code == 200 and answer.json()["cam"]["grid"], answer.content
print(answer.json()["label"],
      *(m in sys.modules for m in ("torch", "torchvision", "matplotlib")))
"""


def test_a_fresh_web_worker_serves_lstm_gates_and_predictions_without_torch(
    logged_in_client: Client,
    private_media: Path,
    tmp_path: Path,
    django_capture_on_commit_callbacks,
) -> None:
    """What a web worker imports when it serves these two APIs: the LSTM in
    numpy, the run on ONNX Runtime; torch stays in the training process."""
    with django_capture_on_commit_callbacks(execute=True):
        start(logged_in_client, cats_vs_planes(), epochs=1)
    run = TransferRun.objects.get()
    code = FRESH_WORKER.format(
        public_id=run.public_id,
        options=run.options,
        classes=run.classes,
        photo=SAMPLES_DIR / "nobody/chelsea.png",
    )
    last = run_in_fresh_process(
        code,
        cache_dir=tmp_path / "cache",
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        PORTAL_MEDIA_ROOT=str(private_media),
    )
    assert last.split()[-3:] == ["False", "False", "False"], last
    assert last.split()[0] in ("cat", "plane")
