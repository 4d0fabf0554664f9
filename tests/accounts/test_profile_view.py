from __future__ import annotations

import pytest
from django.test import Client

from accounts.forms import flush_reset_mail
from accounts.models import User

pytestmark = pytest.mark.django_db


def test_profile_shows_own_id_username_and_session_facts(
    logged_in_client: Client, user: User, other_user: User
) -> None:
    response = logged_in_client.get("/accounts/profile/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="user-id">{user.id}<' in body
    assert f'data-testid="user-id">{other_user.id}<' not in body
    assert "bob" not in body
    assert "sessionid" in body
    assert "HttpOnly" in body and "SameSite" in body and "Lax" in body
    assert "django_session" in body


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/profile/",
        "/accounts/profile/edit/",
        "/accounts/password/change/",
    ],
)
def test_anonymous_user_is_redirected_to_login_with_next(
    client: Client, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_profile_edit_changes_display_name(
    logged_in_client: Client, user: User
) -> None:
    response = logged_in_client.post(
        "/accounts/profile/edit/", {"display_name": "  앨리스  "}, follow=True
    )
    user.refresh_from_db()
    assert user.display_name == "앨리스"
    assert "앨리스" in response.content.decode()


def test_password_change_keeps_user_logged_in(
    logged_in_client: Client, user: User
) -> None:
    response = logged_in_client.post(
        "/accounts/password/change/",
        {
            "old_password": "correct-horse-battery-9",
            "new_password1": "kernel-stride-77",
            "new_password2": "kernel-stride-77",
        },
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("kernel-stride-77")
    assert logged_in_client.get("/accounts/profile/").status_code == 200


def test_password_reset_looks_the_same_for_unknown_email(
    client: Client, user: User, mailoutbox
) -> None:
    user.email = "alice@example.org"
    user.save()
    known = client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    flush_reset_mail()  # the mail leaves on a background thread
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/" in mailoutbox[0].body
