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
