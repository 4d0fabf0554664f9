from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_signup_creates_user_and_logs_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "jiwoo",
            "display_name": "Jiwoo Park",
            "email": "",
            "password1": "tensor-flow-42x",
            "password2": "tensor-flow-42x",
        },
        follow=True,
    )
    assert response.status_code == 200
    user = User.objects.get(username="jiwoo")
    assert user.display_name == "Jiwoo Park"
    assert response.context["user"] == user
    assert "Welcome, Jiwoo Park" in response.content.decode()


def test_signup_rejects_mismatched_passwords_and_stores_nothing(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "jiwoo",
            "password1": "tensor-flow-42x",
            "password2": "other-pw-42x",
        },
    )
    assert response.status_code == 200
    assert "didn’t match" in response.content.decode()
    assert not User.objects.filter(username="jiwoo").exists()


def test_signup_rejects_taken_username(client: Client, user: User) -> None:
    response = client.post(
        "/accounts/signup/",
        {
            "username": "alice",
            "password1": "tensor-flow-42x",
            "password2": "tensor-flow-42x",
        },
    )
    assert "already exists" in response.content.decode()
    assert User.objects.filter(username="alice").count() == 1


def _signup(client: Client, username: str):
    return client.post(
        "/accounts/signup/",
        {
            "username": username,
            "password1": "tensor-flow-42x",
            "password2": "tensor-flow-42x",
        },
    )


def test_signups_from_one_address_are_throttled(settings) -> None:
    settings.SIGNUP_THROTTLE = "2/hour"
    answers = [_signup(Client(REMOTE_ADDR="198.51.100.7"), f"bot{n}") for n in range(3)]
    assert [a.status_code for a in answers] == [302, 302, 429]
    assert "Too many sign-ups" in answers[2].content.decode()
    assert int(answers[2]["Retry-After"]) > 0
    assert User.objects.filter(username__startswith="bot").count() == 2
    elsewhere = _signup(Client(REMOTE_ADDR="203.0.113.9"), "jiwoo")
    assert elsewhere.status_code == 302
