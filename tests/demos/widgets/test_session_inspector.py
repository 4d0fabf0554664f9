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
        "session_epoch": 0,
    }
    assert body["cookie"]["alphabet"] == "a-z0-9"
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


# --- Tampering with a copy of the cookie; logging out elsewhere -----------------

TAMPER = "/api/v1/session/tamper/"
ELSEWHERE = "/api/v1/session/logout-elsewhere/"


def other_character(key: str, position: int) -> str:
    return "a" if key[position] != "a" else "b"


def test_one_changed_character_makes_the_cookie_an_anonymous_user(
    logged_in_client: Client, user
) -> None:
    key = logged_in_client.cookies[settings.SESSION_COOKIE_NAME].value
    rows_before = list(Session.objects.values_list("session_key", "session_data"))
    response = logged_in_client.post(
        TAMPER, {"position": 5, "character": other_character(key, 5)}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    body = response.json()
    assert body["result"] == {
        "session_found": False,
        "has_user_id": False,
        "hash_valid": False,
        "reason": "no-session",
        "user": "AnonymousUser",
        "is_you": False,
        "someone_else": False,
    }
    assert body["yours"]["user"] == user.username and body["yours"]["is_you"]
    altered = key[:5] + other_character(key, 5) + key[6:]
    assert body["altered_preview"] == altered[:8] + "…"
    text = response.content.decode()
    assert key not in text and altered not in text  # neither whole value
    # Nothing was written: the student's session and the table are as they were.
    assert list(Session.objects.values_list("session_key", "session_data")) == (
        rows_before
    )
    assert logged_in_client.get(URL).json()["user"]["username"] == user.username


def test_a_change_past_the_shown_part_is_anonymous_too(
    logged_in_client: Client,
) -> None:
    key = logged_in_client.cookies[settings.SESSION_COOKIE_NAME].value
    body = logged_in_client.post(
        TAMPER, {"position": 31, "character": other_character(key, 31)}
    ).json()
    assert body["result"]["user"] == "AnonymousUser"
    assert body["altered_preview"] == key[:8] + "…"  # the change is not in view


def test_another_users_session_is_never_named(
    logged_in_client: Client, other_client: Client, user
) -> None:
    from demos.widgets.session_inspector import resolve_session_key

    theirs = other_client.cookies[settings.SESSION_COOKIE_NAME].value
    found = resolve_session_key(theirs, owner=user)
    assert found["someone_else"] is True
    assert found["user"] == "" and found["is_you"] is False
    assert "bob" not in json.dumps(found)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"position": 99, "character": "a"}, "position"),
        ({"position": 0, "character": "A"}, "character"),
        ({"position": "x", "character": "a"}, "position"),
        ({"position": 40, "character": "a"}, "position"),
    ],
)
def test_bad_tampering_is_a_400_naming_the_field(
    logged_in_client: Client, data: dict, field: str
) -> None:
    response = logged_in_client.post(TAMPER, data)
    assert response.status_code == 400
    assert field in response.json()


def test_the_same_character_is_refused_with_a_reason(logged_in_client: Client) -> None:
    key = logged_in_client.cookies[settings.SESSION_COOKIE_NAME].value
    response = logged_in_client.post(TAMPER, {"position": 0, "character": key[0]})
    assert response.status_code == 400
    assert "already there" in str(response.json())


def test_posts_need_the_csrf_token(user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(TAMPER, {"position": 0, "character": "a"}).status_code == 403
    assert client.post(ELSEWHERE).status_code == 403
    user.refresh_from_db()
    assert user.session_epoch == 0


def test_anonymous_visitors_cannot_tamper_or_log_out(client: Client) -> None:
    assert client.post(TAMPER, {"position": 0, "character": "a"}).status_code in (
        401,
        403,
    )
    assert client.post(ELSEWHERE).status_code in (401, 403)


def test_log_out_elsewhere_ends_other_sessions_and_keeps_this_one(user) -> None:
    from tests.factories import make_api_token

    here, there = Client(), Client()
    here.force_login(user)
    there.force_login(user)
    make_api_token(user)
    old_key = here.cookies[settings.SESSION_COOKIE_NAME].value
    response = here.post(ELSEWHERE)
    assert response.status_code == 200
    body = response.json()
    assert (body["epoch_before"], body["epoch_after"]) == (0, 1)
    user.refresh_from_db()
    assert user.session_epoch == 1  # accounts' one per-user session generation
    # A browser still holding the old cookie is now anonymous: its hash is old.
    assert body["old_session"]["reason"] == "old-hash"
    assert body["old_session"]["user"] == "AnonymousUser"
    assert body["old_key_preview"] == old_key[:8] + "…"
    new_key = here.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != old_key and body["new_key_preview"] == new_key[:8] + "…"
    assert old_key not in response.content.decode()
    assert new_key not in response.content.decode()
    # This browser stays logged in; the other one is logged out.
    assert here.get(URL).json()["user"]["session_epoch"] == 1
    assert there.get(URL).status_code in (401, 403)
    from knox.models import AuthToken

    assert not AuthToken.objects.filter(user=user).exists()


def test_the_page_offers_tampering_and_log_out_elsewhere(
    logged_in_client: Client,
) -> None:
    load_lessons()
    html = logged_in_client.get("/lessons/how-login-works/").content.decode()
    widget = html.split('data-testid="widget-session-inspector"')[1]
    assert 'data-tamper-api="/api/v1/session/tamper/"' in widget
    assert 'data-elsewhere-api="/api/v1/session/logout-elsewhere/"' in widget
    assert "csrfmiddlewaretoken" in widget
    assert 'data-testid="session-tamper"' in widget
    assert 'data-testid="session-logout-elsewhere"' in widget
    assert "document.cookie" in widget
