"""PORTAL_STORAGE=s3: run and job files live in an S3-compatible bucket.

A real S3-compatible server (moto's) runs on 127.0.0.1 for the session; the
storage settings are the ones ``portal/settings/base.py`` builds from the
environment. Ownership checks are the same as on a folder: the owner streams
files through the views, anyone else gets 404, and nothing has a public URL.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from demos.models import DemoRun, Detection, DetectionJob
from demos.people import services
from demos.people.jobs import services as jobs

REPO_DIR = Path(__file__).resolve().parents[3]
PHOTO = "people/apollo11_crew.jpg"  # three people with yolox-nano
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "portal-test",
    "AWS_SECRET_ACCESS_KEY": "portal-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}

pytestmark = pytest.mark.django_db


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port (skipped if it cannot start)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError as exc:
        pytest.skip(f"moto server could not start: {exc}")
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.skip("moto server (moto[server]) did not answer on loopback")
            time.sleep(0.2)
    yield url
    server.terminate()
    server.wait(timeout=10)


def settings_from_env(env: dict[str, str]) -> dict[str, Any]:
    """``STORAGES["default"]`` as base.py builds it from ``env``, or the error."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps(settings.STORAGES['default']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.dev", **env},
        check=False,
    )
    if result.returncode != 0:
        return {"error": result.stderr}
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def s3_storage_config(s3_endpoint: str) -> dict[str, Any]:
    config = settings_from_env(
        {
            "PORTAL_STORAGE": "s3",
            "PORTAL_S3_BUCKET": "session-bucket",
            "PORTAL_S3_ENDPOINT_URL": s3_endpoint,
        }
    )
    assert "error" not in config, config.get("error")
    return config


@pytest.fixture
def bucket(settings, monkeypatch, s3_storage_config, s3_endpoint) -> Any:
    """A fresh bucket, made the media storage for this test; a boto3 Bucket."""
    import boto3

    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    name = f"portal-{uuid.uuid4().hex[:12]}"
    resource = boto3.resource("s3", endpoint_url=s3_endpoint)
    resource.create_bucket(Bucket=name)
    config = json.loads(json.dumps(s3_storage_config))
    config["OPTIONS"]["bucket_name"] = name
    settings.STORAGES = {**settings.STORAGES, "default": config}
    return resource.Bucket(name)


def keys(bucket: Any) -> list[str]:
    return sorted(item.key for item in bucket.objects.all())


def disk_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def post_photo(api: APIClient, samples_dir: Path) -> dict[str, Any]:
    upload = SimpleUploadedFile("crew.jpg", (samples_dir / PHOTO).read_bytes())
    response = api.post("/api/v1/detections/", {"image": upload}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()


def test_s3_storage_is_configured_from_the_environment(s3_endpoint) -> None:
    config = settings_from_env(
        {
            "PORTAL_STORAGE": "s3",
            "PORTAL_S3_BUCKET": "class-media",
            "PORTAL_S3_ENDPOINT_URL": s3_endpoint,
            "PORTAL_S3_PREFIX": "/portal/",
        }
    )
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert options["bucket_name"] == "class-media"
    assert options["endpoint_url"] == s3_endpoint
    assert options["location"] == "portal"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    default = settings_from_env({})
    assert default["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_storage_without_a_bucket_or_with_an_unknown_backend_is_refused() -> None:
    missing = settings_from_env({"PORTAL_STORAGE": "s3", "PORTAL_S3_BUCKET": ""})
    assert "PORTAL_STORAGE=s3 needs PORTAL_S3_BUCKET" in missing["error"]
    unknown = settings_from_env({"PORTAL_STORAGE": "ftp"})
    assert "PORTAL_STORAGE must be filesystem or s3" in unknown["error"]


def test_a_run_created_through_the_api_is_stored_in_the_bucket_privately(
    api, user, bucket, samples_dir, models_ready, private_media
) -> None:
    body = post_photo(api, samples_dir)

    folder = f"runs/{user.pk}/{body['id']}"
    # The photo and its thumbnail only: crops are cut from the photo on request.
    expected = {f"{folder}/{name}" for name in ("image.jpg", "thumb.jpg")}
    assert body["count"] == 3
    assert set(keys(bucket)) == expected
    assert disk_files(private_media) == []  # nothing went to MEDIA_ROOT
    grants = bucket.Object(f"{folder}/image.jpg").Acl().grants
    assert not any("AllUsers" in str(grant["Grantee"]) for grant in grants)


def test_the_owner_streams_files_from_the_bucket_and_others_get_404(
    api, user, other_client, bucket, samples_dir, models_ready
) -> None:
    body = post_photo(api, samples_dir)
    run = DemoRun.objects.get(public_id=body["id"])
    base = f"/demos/people/{run.public_id}"
    pages = [
        f"{base}/image.jpg",
        f"{base}/thumb.jpg",
        f"{base}/annotated.jpg",
        f"{base}/annotated.jpg?threshold=0.9",
        f"{base}/crops/1.jpg",
        f"{base}/crops.zip",
        f"/api/v1/detections/{run.public_id}/crops.zip",
    ]

    for url in pages:
        response = api.get(url)
        assert response.status_code == 200, url
        assert "private" in response["Cache-Control"]
        assert other_client.get(url).status_code == 404, url

    crop = api.get(f"{base}/crops/1.jpg").content
    assert crop[:2] == b"\xff\xd8"
    zipped = api.get(f"{base}/crops.zip").streaming_content
    archive = zipfile.ZipFile(io.BytesIO(b"".join(zipped)))
    names = archive.namelist()
    assert "manifest.json" in names
    assert any(n.startswith("person_") and n.endswith(".jpg") for n in names)
    shown = json.loads(archive.read("manifest.json"))["count"]
    assert len([n for n in names if n.startswith("person_")]) == shown


def test_deleting_a_run_removes_its_objects(
    api, bucket, samples_dir, models_ready
) -> None:
    first = post_photo(api, samples_dir)
    second = post_photo(api, samples_dir)

    response = api.delete(f"/api/v1/detections/{first['id']}/")

    assert response.status_code == 204
    assert keys(bucket) and all(second["id"] in key for key in keys(bucket))
    assert api.get(f"/demos/people/{first['id']}/image.jpg").status_code == 404


def test_a_failure_after_saving_files_leaves_no_objects_and_no_rows(
    user, bucket, samples_dir, models_ready, monkeypatch
) -> None:
    real_write = services._write

    def fail_at_the_thumbnail(path: PurePosixPath, data: bytes) -> None:
        if path.as_posix().endswith("thumb.jpg"):
            raise OSError("bucket refused the thumbnail")
        real_write(path, data)

    monkeypatch.setattr(services, "_write", fail_at_the_thumbnail)

    with pytest.raises(OSError, match="thumbnail"):
        services.create_demo_run(
            owner=user,
            data=(samples_dir / PHOTO).read_bytes(),
            original_name="crew.jpg",
            detector_key="yolox-nano",
            score_threshold=None,
        )
    assert keys(bucket) == []
    assert DemoRun.objects.count() == Detection.objects.count() == 0


def test_a_queued_job_keeps_its_upload_in_the_bucket_until_it_ran(
    user, bucket, samples_dir, models_ready, django_capture_on_commit_callbacks
) -> None:
    upload = SimpleUploadedFile("crew.jpg", (samples_dir / PHOTO).read_bytes())
    with django_capture_on_commit_callbacks(execute=False):
        outcome = jobs.enqueue_detection_jobs(
            owner=user,
            uploads=[upload],
            detector_key="yolox-nano",
            score_threshold=None,
        )
    (job,) = outcome.jobs
    assert keys(bucket) == [job.upload_path]

    jobs.run_detection_job(job.pk)

    job = DetectionJob.objects.get(pk=job.pk)
    assert job.state == DetectionJob.State.DONE
    assert job.upload_path not in keys(bucket)
    assert f"{job.run.folder}/image.jpg" in keys(bucket)


def test_orphan_objects_in_the_bucket_are_removed_and_runs_kept(
    api, user, bucket, samples_dir, models_ready
) -> None:
    body = post_photo(api, samples_dir)
    orphan = f"runs/{user.pk}/{uuid.uuid4()}/image.jpg"
    stray = f"runs/{user.pk}/stray.txt"
    bucket.put_object(Key=orphan, Body=b"left by a crash")
    bucket.put_object(Key=stray, Body=b"?")

    assert services.remove_orphan_files() == []  # too recent: maybe in progress
    removed = services.remove_orphan_files(grace_seconds=0)

    assert sorted(removed) == sorted([orphan.rsplit("/", 1)[0], stray])
    left = keys(bucket)
    assert orphan not in left and stray not in left
    assert f"runs/{user.pk}/{body['id']}/image.jpg" in left


def test_feature_maps_of_a_run_read_its_photo_from_the_bucket(
    api, bucket, samples_dir, models_ready, other_client
) -> None:
    body = post_photo(api, samples_dir)
    data = {"run": body["id"], "model": "digits-cnn", "layer": "conv2"}

    response = api.post("/api/v1/feature-maps/", data)

    assert response.status_code == 200, response.content
    assert response.json()["shape"] == [16, 12, 12]
    assert other_client.post("/api/v1/feature-maps/", data).status_code == 404


def test_healthz_checks_the_bucket(client, bucket, settings) -> None:
    assert client.get("/healthz").json()["media"] == {"ok": True}

    config = json.loads(json.dumps(settings.STORAGES["default"]))
    config["OPTIONS"]["bucket_name"] = "no-such-bucket"
    settings.STORAGES = {**settings.STORAGES, "default": config}
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["media"]["ok"] is False


def test_the_sweeper_removes_uploads_of_finished_jobs_from_the_bucket(
    user, bucket, samples_dir, models_ready, django_capture_on_commit_callbacks
) -> None:
    photo = (samples_dir / PHOTO).read_bytes()
    with django_capture_on_commit_callbacks(execute=False):
        outcome = jobs.enqueue_detection_jobs(
            owner=user,
            uploads=[SimpleUploadedFile(f"{n}.jpg", photo) for n in ("a", "b")],
            detector_key="yolox-nano",
            score_threshold=None,
        )
    waiting, finished = outcome.jobs
    jobs.fail_detection_job(job_id=finished.pk, reason="test")
    assert finished.upload_path not in keys(bucket)  # removed when it failed
    # A crash left the failed job's upload behind anyway.
    bucket.put_object(Key=finished.upload_path, Body=b"leftover")
    fresh_orphan = f"jobs/{user.pk}/{uuid.uuid4()}/upload"
    bucket.put_object(Key=fresh_orphan, Body=b"being committed right now")

    report = jobs.sweep_stale_jobs()

    assert report.removed == [finished.folder]
    assert waiting.upload_path in keys(bucket)
    assert finished.upload_path not in keys(bucket)
    assert fresh_orphan in keys(bucket)
