"""One click from a lesson: /demos/people/?sample=<key> runs a shipped sample photo.

The page arrives with the sample chosen and the photo input optional; posting the key
runs the detector on the file the server reads from its static folder by that key.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders

from demos.models import DemoRun

pytestmark = pytest.mark.django_db


def test_sample_link_opens_the_upload_page_with_the_sample_chosen(
    logged_in_client,
) -> None:
    response = logged_in_client.get(
        "/demos/people/?sample=cyclists", HTTP_ACCEPT_LANGUAGE="ko"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="sample-chosen"' in html
    assert "자전거 선수 네 명" in html  # the sample's Korean title
    assert re.search(r'<input type="hidden" name="sample" value="cyclists"', html)
    # No file is needed: the photo input is not required in the page.
    file_input = re.search(r'<input type="file"[^>]*>', html).group(0)
    assert "required" not in file_input


def test_running_the_sample_stores_a_run_of_that_photo(logged_in_client, user) -> None:
    response = logged_in_client.post(
        "/demos/people/", {"sample": "cyclists", "detector": "opencv-hog"}
    )

    run = DemoRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/demos/people/{run.public_id}/"
    assert run.owner == user and run.original_name == "cyclists.jpg"
    assert (run.image_width, run.image_height) == (512, 341)
    shipped = finders.find("img/samples/cyclists.jpg")
    assert shipped  # the file the run was made from


def test_chosen_photos_win_over_the_sample(logged_in_client, samples_dir) -> None:
    with (samples_dir / "people" / "surfer.jpg").open("rb") as photo:
        logged_in_client.post(
            "/demos/people/",
            {"sample": "cyclists", "images": [photo], "detector": "opencv-hog"},
        )

    assert list(DemoRun.objects.values_list("original_name", flat=True)) == [
        "surfer.jpg"
    ]


@pytest.mark.parametrize("key", ["../../portal/settings/base.py", "/etc/passwd", "x"])
def test_a_sample_key_is_never_a_path(logged_in_client, key) -> None:
    response = logged_in_client.post(
        "/demos/people/", {"sample": key, "detector": "opencv-hog"}
    )

    assert response.status_code == 200  # the form again, with its errors
    assert 'class="field-error"' in response.content.decode()
    assert DemoRun.objects.count() == 0


def test_unknown_sample_in_the_link_shows_the_plain_upload_page(
    logged_in_client,
) -> None:
    html = logged_in_client.get("/demos/people/?sample=nope").content.decode()
    assert 'data-testid="sample-chosen"' not in html
    assert re.search(r'<input type="file"[^>]*required', html)
