from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_admin_lists_every_students_jobs_read_only(user, queue_photos) -> None:
    queue_photos(user, "people/grace_hopper.jpg", detector_key="opencv-hog")
    admin_user = make_user(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    body = client.get("/admin/demos/detectionjob/?state__exact=done").content.decode()
    assert "grace_hopper.jpg" in body
    assert "alice" in body
    assert client.get("/admin/demos/detectionjob/add/").status_code == 403


def test_job_admin_is_closed_to_students(logged_in_client: Client) -> None:
    assert logged_in_client.get("/admin/demos/detectionjob/").status_code == 302
