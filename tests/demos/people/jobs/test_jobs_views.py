"""Job pages: queued uploads (async mode), the jobs page, history, the status JSON.

Requests use literal paths: the URLs are part of the contract.
"""

from __future__ import annotations

import re
import uuid

import pytest

from demos.models import DemoRun, DetectionJob
from demos.people.jobs.services import run_detection_job
from tests.demos.people.jobs.conftest import photo

pytestmark = pytest.mark.django_db

JOB_STATE_RE = re.compile(r'data-testid="job-state">([^<]+)<')


@pytest.fixture
def async_uploads(settings) -> None:
    settings.PORTAL_ASYNC_UPLOADS = True


@pytest.fixture
def post_upload(samples_dir, django_capture_on_commit_callbacks):
    def post(client, *names: str, run: bool = True, **fields):
        data = {
            "images": [photo(samples_dir, n) for n in names],
            "detector": "yolox-nano",
            "score_threshold": "0.5",
        } | fields
        with django_capture_on_commit_callbacks(execute=run):
            return client.post("/demos/people/", data)

    return post


def test_async_upload_queues_one_job_per_photo_and_shows_the_jobs_page(
    logged_in_client, models_ready, async_uploads, post_upload
) -> None:
    response = post_upload(
        logged_in_client,
        "people/apollo11_crew.jpg",
        "people/grace_hopper.jpg",
        "nobody/pen.jpg",
        run=False,
    )

    assert response.status_code == 302
    assert response["Location"] == "/demos/people/jobs/"
    assert DetectionJob.objects.count() == 3
    assert DemoRun.objects.count() == 0
    page = logged_in_client.get("/demos/people/jobs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-testid="job-card"') == 3
    assert JOB_STATE_RE.findall(html) == ["queued"] * 3
    assert "3 photos are queued" in html
    assert "js/jobs.js" in html
    assert "<script>" not in html


def test_finished_jobs_link_to_their_results(
    logged_in_client, models_ready, async_uploads, post_upload
) -> None:
    post_upload(logged_in_client, "people/apollo11_crew.jpg", "bad/text.jpg")

    html = logged_in_client.get("/demos/people/jobs/").content.decode()

    run = DemoRun.objects.get()
    assert sorted(JOB_STATE_RE.findall(html)) == ["done", "failed"]
    assert f'href="/demos/people/{run.public_id}/"' in html
    assert "not an image" in html


def test_without_async_mode_the_upload_stays_synchronous(
    logged_in_client, models_ready, post_upload
) -> None:
    response = post_upload(logged_in_client, "people/grace_hopper.jpg")

    run = DemoRun.objects.get()
    assert response["Location"] == f"/demos/people/{run.public_id}/"
    assert DetectionJob.objects.count() == 0


def test_async_upload_of_only_oversized_files_shows_the_form_error(
    logged_in_client, settings, models_ready, async_uploads, post_upload
) -> None:
    settings.MAX_UPLOAD_BYTES = 200_000

    response = post_upload(logged_in_client, "people/astronaut.png")

    assert response.status_code == 200
    assert "astronaut.png was not processed" in response.content.decode()
    assert DetectionJob.objects.count() == 0


def test_status_json_reports_state_progress_and_result_url(
    logged_in_client, models_ready, async_uploads, post_upload
) -> None:
    post_upload(logged_in_client, "people/grace_hopper.jpg", run=False)
    queued = DetectionJob.objects.get()

    before = logged_in_client.get(f"/demos/people/jobs/status/?id={queued.public_id}")
    run_detection_job(queued.pk)
    after = logged_in_client.get(f"/demos/people/jobs/status/?id={queued.public_id}")

    assert before.status_code == 200
    assert before["Cache-Control"] == "no-store"
    assert before.json()["pending"] == 1
    (row,) = before.json()["jobs"]
    assert (row["state"], row["progress"], row["run_url"]) == ("queued", 0, "")
    (row,) = after.json()["jobs"]
    run = DemoRun.objects.get()
    assert row["state"] == "done"
    assert row["state_label"] == "done"
    assert row["progress"] == 100
    assert row["run_url"] == f"/demos/people/{run.public_id}/"
    assert row["thumb_url"] == f"/demos/people/{run.public_id}/thumb.jpg"
    assert after.json()["pending"] == 0


def test_status_json_leaves_out_other_students_jobs(
    logged_in_client, other_client, models_ready, async_uploads, post_upload
) -> None:
    post_upload(logged_in_client, "people/grace_hopper.jpg", run=False)
    job = DetectionJob.objects.get()

    response = other_client.get(
        f"/demos/people/jobs/status/?id={job.public_id}&id={uuid.uuid4()}&id=nonsense"
    )

    assert response.json() == {"jobs": [], "pending": 0}
    assert (
        "grace_hopper" not in other_client.get("/demos/people/jobs/").content.decode()
    )


def test_status_labels_follow_the_language(
    logged_in_client, models_ready, async_uploads, post_upload
) -> None:
    post_upload(logged_in_client, "people/grace_hopper.jpg", run=False)
    job = DetectionJob.objects.get()

    response = logged_in_client.get(
        f"/demos/people/jobs/status/?id={job.public_id}", HTTP_ACCEPT_LANGUAGE="ko"
    )

    assert response.json()["jobs"][0]["state_label"] == "대기 중"


def test_history_shows_current_jobs_above_the_runs(
    logged_in_client, models_ready, async_uploads, post_upload
) -> None:
    post_upload(logged_in_client, "people/grace_hopper.jpg", run=False)

    html = logged_in_client.get("/demos/people/history/").content.decode()

    assert 'data-testid="job-panel"' in html
    assert JOB_STATE_RE.findall(html) == ["queued"]
    assert 'href="/demos/people/jobs/"' in html


def test_history_without_jobs_has_no_job_panel(logged_in_client) -> None:
    html = logged_in_client.get("/demos/people/history/").content.decode()

    assert 'data-testid="job-panel"' not in html


@pytest.mark.parametrize("path", ["/demos/people/jobs/", "/demos/people/jobs/status/"])
def test_job_pages_need_a_login(client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
