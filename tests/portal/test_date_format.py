"""One date format per language: the result page, the history and the admin agree."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import override

from demos.people import services
from tests.factories import make_user

pytestmark = pytest.mark.django_db

SHAPES = {
    "ko": r"\d{4}년 \d{1,2}월 \d{1,2}일 \d{2}:\d{2}",
    "en": r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}",
}


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_page_shows_a_moment_the_same_way(language, samples_dir) -> None:
    student = make_user(username="kim", is_staff=True, is_superuser=True)
    run = services.create_demo_run(
        owner=student,
        data=(samples_dir / "people" / "surfer.jpg").read_bytes(),
        original_name="surfer.jpg",
        detector_key="opencv-hog",
        score_threshold=None,
    )
    with override(language):
        shown = date_format(localtime(run.created), "DATETIME_FORMAT")
    assert re.fullmatch(SHAPES[language], shown)

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(student)
    for path in (
        f"/demos/people/{run.public_id}/",
        "/demos/people/history/",
        "/admin/demos/demorun/",
    ):
        assert shown in client.get(path).content.decode(), path
