"""Lesson 15's widget: /api/v1/session/ shows a student their own session — the
cookie masked, the django_session row's facts — and never the whole key."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from demos.lessons.services import load_lessons

pytestmark = pytest.mark.django_db

URL = "/api/v1/session/"


def test_a_student_sees_their_own_masked_cookie_and_session_row(
    logged_in_client: Client, user
) -> None:
    key = logged_in_client.cookies[settings.SESSION_COOKIE_NAME].value
    response = logged_in_client.get(URL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert key not in json.dumps(body)  # never the whole key
    cookie, row = body["cookie"], body["row"]
    assert cookie["name"] == "sessionid" and cookie["sent"] is True
    assert cookie["value_preview"] == key[:8] + "…" == row["key_preview"]
    assert cookie["length"] == len(key) and cookie["matches_session"] is True
    assert cookie["http_only"] is True and cookie["same_site"] == "Lax"
    assert cookie["max_age_days"] == 14
    stored = Session.objects.get(session_key=key)
    assert row["table"] == "django_session" and row["found"] is True
    assert row["expire_date"] == stored.expire_date.isoformat()
    assert 13 * 86400 < row["seconds_left"] <= 14 * 86400
    assert row["data_length"] == len(stored.session_data)
    assert {"_auth_user_id", "_auth_user_backend", "_auth_user_hash"} <= set(
        row["keys"]
    )
    assert row["user_id"] == str(user.pk)
    assert body["user"] == {
        "id": user.pk,
        "username": user.username,
        "is_authenticated": True,
        "matches_row": True,
    }
    names = [item["name"].rsplit(".", 1)[1] for item in body["middleware"]]
    assert names == ["SessionMiddleware", "AuthenticationMiddleware"]
    assert body["middleware"][0]["position"] < body["middleware"][1]["position"]


def test_values_stored_in_the_session_are_never_shown(
    logged_in_client: Client,
) -> None:
    session = logged_in_client.session
    session["secret-note"] = "do-not-show-this"
    session.save()
    text = logged_in_client.get(URL).content.decode()
    assert "secret-note" in text and "do-not-show-this" not in text
    assert Session.objects.get().get_decoded()["_auth_user_hash"] not in text


def test_each_student_sees_only_their_own_session(
    logged_in_client: Client, other_client: Client, other_user
) -> None:
    mine = logged_in_client.get(URL).json()
    theirs = other_client.get(URL).json()
    assert theirs["row"]["user_id"] == str(other_user.pk)
    assert theirs["cookie"]["value_preview"] != mine["cookie"]["value_preview"]


def test_anonymous_visitors_get_no_session_data(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code in (401, 403)
    assert "sessionid" not in response.content.decode()


def test_the_lesson_page_asks_anonymous_visitors_to_log_in(client: Client) -> None:
    load_lessons()
    html = client.get("/lessons/how-login-works/").content.decode()
    widget = html.split('data-testid="widget-session-inspector"')[1]
    assert 'data-testid="login-required"' in widget
    assert "AnonymousUser" in widget
