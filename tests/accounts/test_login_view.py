from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_right_password_redirects_home(client: Client, user: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert int(client.session["_auth_user_id"]) == user.pk


def test_login_follows_next(client: Client, user: User) -> None:
    response = client.post(
        "/accounts/login/?next=/accounts/profile/",
        {
            "username": "alice",
            "password": DEFAULT_PASSWORD,
            "next": "/accounts/profile/",
        },
    )
    assert response["Location"] == "/accounts/profile/"


def test_wrong_password_shows_form_error(client: Client, user: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "nope"}
    )
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_wrong_passwords_are_refused_with_clear_message(
    client: Client, user: User
) -> None:
    for _ in range(5):
        client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    # Even the right password is refused from this address during the cool-off.
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_rate_limit_does_not_lock_out_other_users_from_other_addresses(
    user: User, other_user: User
) -> None:
    attacker = Client(REMOTE_ADDR="10.0.0.66")
    for _ in range(100):
        attacker.post("/accounts/login/", {"username": "alice", "password": "nope"})
    response = attacker.post(
        "/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert "Too many failed login attempts" in response.content.decode()

    classmate = Client(REMOTE_ADDR="10.0.0.7")
    response = classmate.post(
        "/accounts/login/", {"username": "bob", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert int(classmate.session["_auth_user_id"]) == other_user.pk


def test_logged_in_user_visiting_login_is_redirected(logged_in_client: Client) -> None:
    response = logged_in_client.get("/accounts/login/")
    assert response.status_code == 302
