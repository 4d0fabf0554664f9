"""API tokens (finding 6): hashed, expiring, revoked on a password change and by
"log out everywhere" (page and API)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-horse-battery-7"


def obtain(client: Client) -> dict:
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    return response.json()


def me(token: str) -> int:
    return Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}").status_code


def test_token_answer_holds_the_token_and_its_expiry(client: Client, user) -> None:
    body = obtain(client)
    assert set(body) == {"token", "expiry"}
    expiry = timezone.datetime.fromisoformat(body["expiry"])
    assert (
        timezone.now() + timedelta(days=6) < expiry < timezone.now() + timedelta(days=8)
    )
    assert me(body["token"]) == 200


def test_tokens_are_stored_as_digests_only(client: Client, user) -> None:
    token = obtain(client)["token"]
    row = AuthToken.objects.get(user=user)
    assert token not in row.digest
    assert row.token_key == token[: len(row.token_key)] != token


def test_expired_token_is_refused(client: Client, user) -> None:
    token = obtain(client)["token"]
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert me(token) == 401


def test_password_change_revokes_every_token(client: Client, user: User) -> None:
    tokens = [obtain(client)["token"], obtain(client)["token"]]
    client.force_login(user)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert [me(token) for token in tokens] == [401, 401]


def test_log_out_everywhere_page_ends_sessions_and_tokens(user: User) -> None:
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    token = obtain(Client())["token"]
    profile = laptop.get("/accounts/profile/")
    assert 'data-testid="logout-everywhere"' in profile.content.decode()

    response = laptop.post("/accounts/logout-everywhere/")

    assert response.status_code == 302
    assert phone.get("/accounts/profile/").status_code == 302  # to the login page
    assert laptop.get("/accounts/profile/").status_code == 302
    assert me(token) == 401


def test_log_out_everywhere_api_revokes_every_token(user: User, other_user) -> None:
    token, spare = obtain(Client())["token"], obtain(Client())["token"]
    response = Client().post(
        "/api/v1/auth/logout-everywhere/", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 204
    assert [me(token), me(spare)] == [401, 401]


def test_at_most_twenty_live_tokens_per_user(db) -> None:
    # README: "At most 20 live tokens per user" (issue 21, finding 8).
    user = make_user(username="scripted")
    client = Client()
    body = {"username": "scripted", "password": DEFAULT_PASSWORD}
    statuses = [client.post("/api/v1/auth/token/", body).status_code for _ in range(21)]
    assert statuses == [200] * 20 + [403]
    refused = client.post("/api/v1/auth/token/", body).json()["detail"]
    assert "20 API tokens" in refused
    assert AuthToken.objects.filter(user=user).count() == 20
    # An expired token no longer counts.
    AuthToken.objects.filter(pk=AuthToken.objects.filter(user=user).first().pk).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    assert client.post("/api/v1/auth/token/", body).status_code == 200


def test_log_out_everywhere_reads_no_session_table(
    user: User, other_user, monkeypatch, django_assert_max_num_queries
) -> None:
    # issue 21, finding 8: it decoded every live session under the write lock
    # (1.2 s at 50,000 sessions). Now one row is written, whatever the table holds.
    from django.contrib.sessions.models import Session

    from accounts import services

    classmate, laptop = Client(), Client()
    classmate.force_login(other_user)
    laptop.force_login(user)

    def refuse(self):  # any decoding means the table is being scanned
        raise AssertionError("session decoded")

    monkeypatch.setattr(Session, "get_decoded", refuse)
    with django_assert_max_num_queries(10):
        services.log_out_everywhere(user=user)
    monkeypatch.undo()
    assert laptop.get("/accounts/profile/").status_code == 302
    assert classmate.get("/accounts/profile/").status_code == 200
