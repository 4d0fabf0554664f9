from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_logout_by_get_is_not_allowed(logged_in_client: Client) -> None:
    response = logged_in_client.get("/accounts/logout/")
    assert response.status_code == 405
    assert "_auth_user_id" in logged_in_client.session


def test_logout_by_post_ends_session(logged_in_client: Client) -> None:
    response = logged_in_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in logged_in_client.session
    assert logged_in_client.get("/accounts/profile/").status_code == 302


def test_logout_without_csrf_token_is_refused(user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert "_auth_user_id" in client.session
