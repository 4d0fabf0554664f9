from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_token_for_right_password(client: Client, user: User) -> None:
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


def test_token_refused_for_wrong_password(client: Client, user: User) -> None:
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": "x"}
    )
    assert response.status_code == 400
    assert "Invalid username or password" in response.json()["detail"]


def test_token_endpoint_rate_limits_with_429(client: Client, user: User) -> None:
    for _ in range(5):
        client.post("/api/v1/auth/token/", {"username": "alice", "password": "x"})
    response = client.post(
        "/api/v1/auth/token/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.json()["detail"]
    assert int(response["Retry-After"]) > 0


def test_me_returns_exactly_the_documented_fields(
    logged_in_client: Client, user: User
) -> None:
    data = logged_in_client.get("/api/v1/me/").json()
    assert set(data) == {"id", "username", "display_name", "date_joined"}
    assert data["id"] == user.id
    assert data["display_name"] == "Alice Kim"


def test_me_requires_authentication(client: Client) -> None:
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_bad_token_is_refused(client: Client) -> None:
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


def test_api_root_schema_and_docs_are_served(client: Client) -> None:
    root = client.get("/api/v1/")
    assert root.status_code == 200
    assert "me" in root.json()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # served from local static files, not a CDN
    assert b"cdn.jsdelivr" not in docs.content and b"unpkg.com" not in docs.content
