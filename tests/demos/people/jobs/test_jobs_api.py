"""Asynchronous detections: POST /api/v1/detections/?async=1 → 202, GET the job URL."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from demos.models import DetectionJob
from tests.demos.people.jobs.conftest import photo

pytestmark = pytest.mark.django_db


@pytest.fixture
def post_async(samples_dir, django_capture_on_commit_callbacks):
    """POST a photo with ?async=1; the queued task runs in-process when ``run``."""

    def post(client: APIClient, name: str, *, run: bool = True, **fields):
        data = {"image": photo(samples_dir, name)} | fields
        with django_capture_on_commit_callbacks(execute=run):
            return client.post("/api/v1/detections/?async=1", data, format="multipart")

    return post


def test_async_post_answers_202_with_the_job_url(api, models_ready, post_async) -> None:
    response = post_async(api, "people/apollo11_crew.jpg", run=False)

    body = response.json()
    assert response.status_code == 202
    assert set(body) == {"id", "state", "job_url"}
    assert uuid.UUID(body["id"])
    assert body["state"] == "queued"
    assert body["job_url"] == f"http://testserver/api/v1/jobs/{body['id']}/"
    assert response["Location"] == body["job_url"]


def test_queued_job_has_no_detection_yet(api, models_ready, post_async) -> None:
    job_url = post_async(api, "people/apollo11_crew.jpg", run=False).json()["job_url"]

    body = api.get(job_url).json()

    assert body["state"] == "queued"
    assert body["detail"] == ""
    assert body["detection"] is None


def test_done_job_carries_the_same_body_as_the_synchronous_201(
    api, models_ready, post_async
) -> None:
    accepted = post_async(api, "people/apollo11_crew.jpg").json()

    body = api.get(accepted["job_url"]).json()

    assert body["state"] == "done"
    assert body["progress"] == 100
    detection = body["detection"]
    assert detection["count"] == 3
    run_url = f"/api/v1/detections/{detection['id']}/"
    assert api.get(run_url).json() == detection
    assert set(detection) >= {"id", "persons", "annotated_url", "count"}


def test_async_and_synchronous_posts_find_the_same_people(
    api, samples_dir, models_ready, post_async
) -> None:
    job_url = post_async(api, "people/cyclists.jpg").json()["job_url"]
    synchronous = api.post(
        "/api/v1/detections/",
        {"image": photo(samples_dir, "people/cyclists.jpg")},
        format="multipart",
    )

    assert synchronous.status_code == 201
    queued = api.get(job_url).json()["detection"]
    assert [p["box"] for p in queued["persons"]] == [
        p["box"] for p in synchronous.json()["persons"]
    ]


def test_bad_photo_job_fails_with_the_reason(api, models_ready, post_async) -> None:
    accepted = post_async(api, "bad/truncated.jpg")

    body = api.get(accepted.json()["job_url"]).json()
    assert accepted.status_code == 202
    assert body["state"] == "failed"
    assert "corrupt or truncated" in body["detail"]
    assert body["detection"] is None


def test_unknown_detector_is_a_400_and_nothing_is_queued(
    api, models_ready, post_async
) -> None:
    response = post_async(api, "people/grace_hopper.jpg", detector="yolo-huge")

    assert response.status_code == 400
    assert "Unknown detector" in response.json()["detail"]
    assert DetectionJob.objects.count() == 0


def test_detector_without_its_file_is_a_503(api, models_ready, post_async) -> None:
    response = post_async(
        api, "people/grace_hopper.jpg", detector="fasterrcnn_resnet50_fpn_v2"
    )

    assert response.status_code == 503
    assert DetectionJob.objects.count() == 0


def test_other_student_gets_404_for_the_job(
    api, other_api, models_ready, post_async
) -> None:
    job_url = post_async(api, "people/grace_hopper.jpg").json()["job_url"]

    assert other_api.get(job_url).status_code == 404
    assert other_api.get("/api/v1/jobs/").json()["count"] == 0


def test_unknown_job_is_404(api) -> None:
    assert api.get(f"/api/v1/jobs/{uuid.uuid4()}/").status_code == 404


def test_anonymous_client_gets_401_for_jobs(client) -> None:
    assert client.get(f"/api/v1/jobs/{uuid.uuid4()}/").status_code == 401
    assert client.get("/api/v1/jobs/").status_code == 401


def test_job_list_shows_your_jobs_newest_first(api, models_ready, post_async) -> None:
    post_async(api, "people/grace_hopper.jpg")
    post_async(api, "bad/empty.jpg")

    body = api.get("/api/v1/jobs/").json()

    assert body["count"] == 2
    assert [job["original_name"] for job in body["results"]] == [
        "empty.jpg",
        "grace_hopper.jpg",
    ]
    assert [job["state"] for job in body["results"]] == ["failed", "done"]


def test_synchronous_post_is_unchanged_and_makes_no_job(
    api, samples_dir, models_ready
) -> None:
    response = api.post(
        "/api/v1/detections/",
        {"image": photo(samples_dir, "people/grace_hopper.jpg")},
        format="multipart",
    )

    assert response.status_code == 201
    assert DetectionJob.objects.count() == 0


def test_schema_documents_the_202_and_the_job_endpoint(api) -> None:
    schema = api.get("/api/schema/?format=json").json()

    post = schema["paths"]["/api/v1/detections/"]["post"]
    assert {"201", "202"} <= set(post["responses"])
    assert "async" in {p["name"] for p in post.get("parameters", [])}
    assert "/api/v1/jobs/{public_id}/" in schema["paths"]
