"""Finding 11: the upload form carries a one-time key; a double submit makes one run
and the second POST lands where the first went. Literal paths."""

from __future__ import annotations

import re
import uuid

import pytest

from demos.models import DemoRun
from tests.demos.people.jobs.conftest import photo

pytestmark = pytest.mark.django_db


def form_data(samples_dir, token: str) -> dict:
    return {
        "images": photo(samples_dir, "people/grace_hopper.jpg"),
        "detector": "opencv-hog",
        "submission": token,
    }


def test_the_upload_form_renders_a_fresh_one_time_key(logged_in_client) -> None:
    pages = [logged_in_client.get("/demos/people/").content.decode() for _ in range(2)]
    tokens = [
        re.search(r'name="submission" value="([0-9a-f-]+)"', page).group(1)
        for page in pages
    ]
    assert tokens[0] != tokens[1]
    assert all(uuid.UUID(t) for t in tokens)


def test_a_double_submit_makes_one_run_and_redirects_to_it(
    logged_in_client, samples_dir
) -> None:
    token = str(uuid.uuid4())
    first = logged_in_client.post("/demos/people/", form_data(samples_dir, token))
    second = logged_in_client.post("/demos/people/", form_data(samples_dir, token))

    run = DemoRun.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/demos/people/{run.public_id}/"


def test_a_new_form_makes_a_new_run(logged_in_client, samples_dir) -> None:
    for _ in range(2):
        logged_in_client.post(
            "/demos/people/", form_data(samples_dir, str(uuid.uuid4()))
        )
    assert DemoRun.objects.count() == 2


def test_a_refused_submit_can_be_sent_again_with_the_same_key(
    logged_in_client, samples_dir
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    token = str(uuid.uuid4())
    bad = form_data(samples_dir, token) | {
        "images": SimpleUploadedFile("notes.jpg", b"not an image")
    }
    assert logged_in_client.post("/demos/people/", bad).status_code == 200
    again = logged_in_client.post("/demos/people/", form_data(samples_dir, token))
    assert again.status_code == 302
    assert DemoRun.objects.count() == 1
