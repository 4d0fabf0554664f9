"""Hostile request bodies get a clear 400, never a 500 or a default action
(issue 21, finding 8)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from demos.models import TrainingRun
from portal.lib.parsers import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_depth

pytestmark = pytest.mark.django_db

NESTED = "[" * 2048 + "]" * 2048  # 4 KB


@pytest.mark.parametrize(
    ("path", "login"),
    [
        ("/api/v1/auth/token/", False),  # anonymous
        ("/api/v1/training-runs/", True),
        ("/api/v1/exercises/people-one-by-one/", True),
        ("/api/v1/playgrounds/kernel/", False),
    ],
)
def test_deeply_nested_json_is_a_400_on_json_endpoints(
    path: str, login: bool, client: Client, user
) -> None:
    if login:
        client.force_login(user)
    for body in (NESTED, '{"a":' * 1500 + "1" + "}" * 1500):
        response = client.post(path, body, content_type="application/json")
        assert response.status_code == 400, response.content[:200]
        assert "nested" in response.json()["detail"]


def test_ordinary_nesting_still_parses() -> None:
    assert json_depth({"a": [1, {"b": [2]}]}) == 4
    assert json_depth(json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)) == 32
    assert json_depth(None) == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"garbage": 1}', "application/json"),
        ('{"epochs": 3, "surprise": true}', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"hello"', "application/json"),
        ("null", "application/json"),
        ("x=1&y=2", "application/x-www-form-urlencoded"),
    ],
)
def test_garbage_bodies_do_not_start_a_default_training_run(
    logged_in_client: Client, body: str, content_type: str
) -> None:
    response = logged_in_client.post(
        "/api/v1/training-runs/", body, content_type=content_type
    )
    assert response.status_code == 400, response.content[:200]
    assert not TrainingRun.objects.exists()


def test_a_json_body_over_the_cap_is_a_413_read_no_further(client: Client) -> None:
    # 16 MB bodies cost a worker ~120 MB that was never returned (finding 8).
    padding = "x" * (MAX_JSON_BYTES + 10)
    body = json.dumps({"username": "a", "password": padding})
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 413
    assert "at most 256 KB" in response.json()["detail"]


def test_a_long_exercise_printout_still_fits(logged_in_client: Client) -> None:
    text = "사람 1: box (0, 10, 110, 240)\\n" * 600  # ~20,000 characters of Korean
    body = json.dumps({"run": "00000000-0000-0000-0000-000000000000", "output": text})
    assert len(body.encode()) < MAX_JSON_BYTES
    response = logged_in_client.post(
        "/api/v1/exercises/people-one-by-one/", body, content_type="application/json"
    )
    assert response.status_code in (400, 404)  # read and judged, not refused unread
