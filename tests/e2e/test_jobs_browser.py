"""A student watches a queued photo finish on the jobs page, without reloading."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from demos.people.jobs import services as jobs
from portal.celery import app as celery_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def queue_without_running() -> Iterator[None]:
    """Send tasks to Celery's in-memory broker, where no worker takes them."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def test_job_card_turns_done_with_a_result_link_without_a_reload(
    logged_in_page, live_url, samples_dir, models_ready, queue_without_running
) -> None:
    page = logged_in_page
    problems: list[str] = []
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    owner = User.objects.get(username=page.username)
    data = (samples_dir / "people" / "apollo11_crew.jpg").read_bytes()
    (job,) = jobs.enqueue_detection_jobs(
        owner=owner,
        uploads=[SimpleUploadedFile("apollo11_crew.jpg", data)],
        detector_key="yolox-nano",
        score_threshold=None,
    ).jobs

    page.goto(f"{live_url}/demos/people/jobs/")
    card = page.locator(f"[data-job-id='{job.public_id}']")
    assert card.get_attribute("data-state") == "queued"
    assert not card.locator("[data-job-link]").is_visible()
    page.evaluate("window.__sameDocument = true")

    jobs.run_detection_job(job.pk)  # what a worker does

    page.wait_for_selector(f"[data-job-id='{job.public_id}'][data-state='done']")
    assert card.locator("[data-job-state]").text_content().strip() == "done"
    assert card.locator("[data-job-link]").is_visible()
    assert card.locator("[data-job-progress]").is_hidden()
    assert page.evaluate("window.__sameDocument") is True
    card.locator("[data-job-link]").click()
    page.wait_for_url(f"{live_url}/demos/people/*/")
    assert page.text_content("[data-testid=person-count]").strip() == "3"
    assert problems == []
