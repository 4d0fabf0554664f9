"""The history page marks the runs just uploaded; it links jobs only in job mode."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from demos.people import services

pytestmark = pytest.mark.django_db


def make_run(owner, samples_dir: Path, name: str):
    return services.create_demo_run(
        owner=owner,
        data=(samples_dir / "people" / name).read_bytes(),
        original_name=name,
        detector_key="opencv-hog",
        score_threshold=None,
    )


def marked_runs(html: str) -> list[str]:
    cards = re.findall(r'<li class="run-card panel is-new"[^>]*>.*?</li>', html, re.S)
    return [re.search(r"/demos/people/([0-9a-f-]{36})/", c).group(1) for c in cards]


def test_uploading_several_photos_marks_them_on_the_history_page(
    logged_in_client, user, samples_dir
) -> None:
    earlier = make_run(user, samples_dir, "surfer.jpg")
    files = [
        (samples_dir / "people" / name).open("rb")
        for name in ("cyclists.jpg", "jockey.jpg")
    ]
    try:
        response = logged_in_client.post(
            "/demos/people/",
            {"images": files, "detector": "opencv-hog"},
            follow=True,
        )
    finally:
        for f in files:
            f.close()

    path, _status = response.redirect_chain[-1]
    assert path.startswith("/demos/people/history/?new=")
    html = response.content.decode()
    marked = marked_runs(html)
    assert len(marked) == 2 and str(earlier.public_id) not in marked
    assert "2 photos were just processed" in html


def test_history_ignores_new_ids_that_are_not_uuids(logged_in_client) -> None:
    response = logged_in_client.get("/demos/people/history/?new=../../etc,1")
    assert response.status_code == 200
    assert marked_runs(response.content.decode()) == []


def test_jobs_link_only_when_uploads_become_jobs(logged_in_client, settings) -> None:
    settings.PORTAL_ASYNC_UPLOADS = False
    html = logged_in_client.get("/demos/people/history/").content.decode()
    assert 'href="/demos/people/jobs/"' not in html

    settings.PORTAL_ASYNC_UPLOADS = True
    html = logged_in_client.get("/demos/people/history/").content.decode()
    assert 'href="/demos/people/jobs/"' in html
