"""Students join a class: the page at /accounts/classes/join/ and the API."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_cohort

pytestmark = pytest.mark.django_db


def test_the_join_link_fills_in_the_code(logged_in_client: Client) -> None:
    response = logged_in_client.get("/accounts/classes/join/?code=K7QM3P")
    assert response.status_code == 200
    assert 'value="K7QM3P"' in response.content.decode()


def test_joining_on_the_page_shows_the_class_on_the_profile(
    logged_in_client: Client, user
) -> None:
    cohort = make_cohort(name="CNN 1기")
    response = logged_in_client.post(
        "/accounts/classes/join/", {"code": cohort.join_code}, follow=True
    )
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == "/accounts/profile/"
    assert "CNN 1기" in body
    assert list(cohort.students.all()) == [user]


def test_a_wrong_code_on_the_page_is_a_form_error(logged_in_client: Client) -> None:
    make_cohort()
    response = logged_in_client.post("/accounts/classes/join/", {"code": "ZZZZZZ"})
    assert response.status_code == 200
    assert "ZZZZZZ" in response.content.decode()


def test_the_join_page_needs_a_login(client: Client) -> None:
    response = client.get("/accounts/classes/join/?code=ABC")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_api_joins_a_class(api: APIClient, user) -> None:
    cohort = make_cohort(name="CNN 1기")
    response = api.post(
        "/api/v1/classes/join/", {"code": cohort.join_code}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": str(cohort.public_id),
        "name": "CNN 1기",
        "term": cohort.term,
        "joined": True,
    }
    again = api.post("/api/v1/classes/join/", {"code": cohort.join_code})
    assert again.json()["joined"] is False


def test_the_api_answers_400_for_a_wrong_code(api: APIClient) -> None:
    response = api.post("/api/v1/classes/join/", {"code": "ZZZZZZ"}, format="json")
    assert response.status_code == 400
    assert "ZZZZZZ" in response.json()["detail"]


def test_the_api_needs_a_login() -> None:
    response = APIClient().post("/api/v1/classes/join/", {"code": "ABC"})
    assert response.status_code == 401
