"""Finding 11: the app's own request-body cap (413 before anything reads the body)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_declared_body_above_the_cap_is_refused_with_413_json_on_the_api(
    api, settings
) -> None:
    too_big = settings.MAX_REQUEST_BYTES + 1
    response = api.post(
        "/api/v1/detections/",
        b"x",
        content_type="image/jpeg",
        CONTENT_LENGTH=str(too_big),
    )
    assert response.status_code == 413
    assert "the server accepts at most" in response.json()["detail"]


def test_a_declared_body_above_the_cap_is_refused_on_the_upload_page(
    logged_in_client: Client, settings
) -> None:
    too_big = settings.MAX_REQUEST_BYTES + 1
    response = logged_in_client.post(
        "/demos/people/", b"x", content_type="text/plain", CONTENT_LENGTH=str(too_big)
    )
    assert response.status_code == 413


def test_the_cap_leaves_room_for_a_full_upload_form(settings) -> None:
    full_form = settings.MAX_FILES_PER_UPLOAD * settings.MAX_UPLOAD_BYTES
    assert full_form < settings.MAX_REQUEST_BYTES
    assert full_form + 2 * 2**20 >= settings.MAX_REQUEST_BYTES
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
