from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_admin_lists_and_searches_users(user, other_user) -> None:
    from tests.factories import make_user

    admin_user = make_user(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    body = client.get("/admin/accounts/user/").content.decode()
    assert "alice" in body and "bob" in body
    body = client.get("/admin/accounts/user/?q=Kim").content.decode()
    assert "alice" in body and "bob" not in body


def test_admin_is_closed_to_students(logged_in_client: Client) -> None:
    response = logged_in_client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
