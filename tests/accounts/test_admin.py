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


def test_admin_lists_classes_with_their_student_count(user) -> None:
    from accounts.services import add_student
    from tests.factories import make_cohort, make_user

    root = make_user(username="root", is_staff=True, is_superuser=True)
    cohort = make_cohort(instructor=root, name="CNN 1기")
    add_student(cohort=cohort, student=user)
    client = Client()
    client.force_login(root)
    client.cookies["django_language"] = "ko"
    body = client.get("/admin/accounts/cohort/").content.decode()
    assert "CNN 1기" in body and cohort.join_code in body
    assert "반" in body
    page = client.get(f"/admin/accounts/cohort/{cohort.pk}/change/")
    assert page.status_code == 200
    assert "alice" in page.content.decode()
