"""What a fresh web worker imports when students start, read and delete training
and transfer runs, open the two lessons and an instructor uploads a class
dataset: settings and ZIPs are checked with torch-free modules
(demos/ml/training_settings.py, transfer_settings.py, image_folder.py); torch
stays in the process that trains."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

from demos.ml import catalogues
from tests.demos.ml.zips import SAMPLES_DIR, jpeg
from tests.fresh_process import run_in_fresh_process

HEAVY = ("torch", "torchvision", "matplotlib", "sklearn")

# Runs the requests of a web worker; prints the heavy modules it imported.
WEB_WORKER = """
import io, sys, zipfile
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.test.utils import setup_test_environment
from demos.lessons.services import load_lessons
from demos.models import ClassDataset, TrainingRun, TransferRun
from tests.factories import make_user

# Queued for the training runner (the production default): nothing trains here.
settings.TRAINING_RUN_BACKEND = "runner"
call_command("migrate", verbosity=0)
setup_test_environment()  # "testserver" is an allowed host
load_lessons()
data = open("{zip_path}", "rb").read()


def upload(name):
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def ok(response, status=200):
    assert response.status_code == status, (status, response.content[-2000:])
    return response


head = Client()
head.force_login(make_user(username="head", is_staff=True, is_superuser=True))
form = {{"name": "colours", "description": "", "zip_upload": upload("c.zip")}}
ok(head.post("/admin/demos/classdataset/add/", form), 302)
dataset = ClassDataset.objects.get()
ok(head.get("/admin/demos/classdataset/"))

alice, bob = Client(), Client()
alice.force_login(make_user(username="alice"))
bob.force_login(make_user(username="bob"))
ok(alice.get("/lessons/training/"))
assert "colours" in ok(alice.get("/lessons/transfer-learning/")).content.decode()
ok(alice.get("/api/v1/transfer-learning/"))

training = ok(alice.post("/api/v1/training-runs/",
                         {{"subset": 50, "epochs": 2, "optimizer": "sgd"}},
                         content_type="application/json"), 202).json()
assert ok(alice.get(training["url"])).json()["state"] == "queued"
refused = alice.post("/api/v1/training-runs/", {{"subset": 5}},
                     content_type="application/json")
assert refused.status_code == 400, refused.content

zipped = ok(alice.post("/api/v1/transfer-runs/",
                       {{"dataset": upload("classes.zip"), "epochs": 1}}), 202).json()
assert ok(alice.get(zipped["url"])).json()["classes"] == ["blue", "red"]
shared = {{"class_dataset": str(dataset.public_id), "epochs": 1}}
shared = ok(bob.post("/api/v1/transfer-runs/", shared), 202).json()
assert ok(bob.get(shared["url"])).json()["state"] == "queued"
carol = Client()
carol.force_login(make_user(username="carol"))
photos = []
for index in range(6):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = sorted(archive.namelist())[index]
        photo = io.BytesIO(archive.read(name))
    photo.name = name.split("/")[-1]
    photos.append(photo)
labels = ["blue"] * 3 + ["red"] * 3
per_class = {{"photos": photos, "labels": labels, "epochs": 1}}
per_class = ok(carol.post("/api/v1/transfer-runs/", per_class), 202).json()
assert ok(carol.get(per_class["url"])).json()["classes"] == ["blue", "red"]
bad = alice.post("/api/v1/transfer-runs/", {{"dataset": upload("x.zip"), "model": "x"}})
assert bad.status_code == 400, bad.content

for run in TransferRun.objects.all():
    ok(head.post(f"/admin/demos/transferrun/{{run.pk}}/delete/", {{"post": 1}}), 302)
ok(head.post(f"/admin/demos/classdataset/{{dataset.pk}}/delete/", {{"post": 1}}), 302)
assert TrainingRun.objects.count() == 1 and not TransferRun.objects.exists()

rss_kb = next(int(line.split()[1]) for line in open("/proc/self/status")
              if line.startswith("VmRSS:"))
print(*(m in sys.modules for m in {heavy!r}), rss_kb // 1024)
"""


def two_colour_zip() -> bytes:
    """Two classes of four photos each: crops of a real photo, tinted."""
    photo = Image.open(SAMPLES_DIR / "nobody/chelsea.png").convert("RGB")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for label, tint in (("blue", (40, 60, 200)), ("red", (200, 40, 40))):
            for i in range(4):
                crop = photo.crop((i * 20, i * 10, 200 + i * 20, 150 + i * 10))
                tinted = Image.blend(crop, Image.new("RGB", crop.size, tint), 0.5)
                archive.writestr(f"{label}/{i}.jpg", jpeg(tinted.resize((64, 48))))
    return buffer.getvalue()


def test_a_fresh_web_worker_starts_reads_and_deletes_runs_without_torch(
    tmp_path: Path,
) -> None:
    zip_path = tmp_path / "classes.zip"
    zip_path.write_bytes(two_colour_zip())
    cache = tmp_path / "cache"
    # The lesson's ResNet50 counts come from disk, as `manage.py fill_catalogues`
    # leaves them (this test process has torch anyway).
    catalogues.load_or_compute(
        cache / "catalogues",
        catalogues.TRANSFER_COUNTS,
        catalogues.transfer_counts_catalogue,
    )
    media = tmp_path / "media"
    media.mkdir(exist_ok=True)
    last = run_in_fresh_process(
        WEB_WORKER.format(zip_path=zip_path, heavy=HEAVY),
        cache_dir=cache,
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        PORTAL_MEDIA_ROOT=str(media),
    )
    *imported, _rss_mb = last.split()
    assert dict(zip(HEAVY, imported, strict=True)) == dict.fromkeys(HEAVY, "False")
