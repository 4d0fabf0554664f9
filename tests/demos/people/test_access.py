"""Access and sessions: another student's run is a 404 everywhere; logins are throttled.

Complements tests/demos/people/test_views.py and tests/demos/people/test_api.py
(pages and the API's detail/delete for another user): here the API's ZIP, the file
URLs fetched with an API token, HEAD requests, CSRF on delete, staff access through
every route, and the login limiter seen from a classroom that shares one address.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.test import Client

from accounts import ratelimit
from demos.models import DemoRun
from demos.people import services
from tests.factories import DEFAULT_PASSWORD, make_api_token, make_user
from tests.support import body_of, media_files

pytestmark = pytest.mark.django_db

FILE_SUFFIXES = [
    "image.jpg",
    "annotated.jpg",
    "annotated.jpg?score_threshold=0.2",
    "thumb.jpg",
    "crops/1.jpg",
    "crops/1.jpg?download=1",
    "crops.zip",
    "crops.zip?score_threshold=0.1",
]


@pytest.fixture
def run(user, samples_dir, models_ready) -> DemoRun:
    return services.create_demo_run(
        owner=user,
        data=(samples_dir / "people" / "apollo11_crew.jpg").read_bytes(),
        original_name="apollo11_crew.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )


def fingerprint(root: Path) -> dict[str, str]:
    """Every stored file by path and SHA-256: "the owner's data is untouched"."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in media_files(root)
    }


def main_text(response) -> str:
    # The page around <main> differs (CSRF masks, the language form's "next").
    return re.search(r"<main.*</main>", response.content.decode(), re.S).group(0)


def token_client(user) -> Client:
    token = make_api_token(user)
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


@pytest.mark.parametrize("suffix", FILE_SUFFIXES)
@pytest.mark.parametrize("method", ["get", "head"])
def test_other_users_token_gets_404_for_every_file_url(
    run, other_user, private_media, suffix, method
) -> None:
    before = fingerprint(private_media)

    response = getattr(token_client(other_user), method)(
        f"/demos/people/{run.public_id}/{suffix}"
    )

    assert response.status_code == 404
    assert fingerprint(private_media) == before


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("get", "?score_threshold=0.1"),
        ("get", "crops.zip"),
        ("delete", ""),
    ],
)
def test_other_user_gets_404_from_the_api_and_the_owner_keeps_everything(
    run, other_api, private_media, method, suffix
) -> None:
    before = fingerprint(private_media)
    rows = run.detections.count()

    response = getattr(other_api, method)(
        f"/api/v1/detections/{run.public_id}/{suffix}"
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "No such run."}
    assert fingerprint(private_media) == before
    assert DemoRun.objects.get(pk=run.pk).detections.count() == rows


def test_other_users_list_does_not_mention_the_run(run, other_api) -> None:
    body = other_api.get("/api/v1/detections/").json()

    assert body["count"] == 0
    assert str(run.public_id) not in str(body)


def test_guessed_run_ids_are_404_not_403(run, other_client) -> None:
    # The same answer for "not yours" and "does not exist": ids cannot be probed.
    mine = other_client.get(f"/demos/people/{run.public_id}/")
    nobodys = other_client.get("/demos/people/00000000-0000-4000-8000-000000000000/")

    assert mine.status_code == nobodys.status_code == 404
    assert main_text(mine) == main_text(nobodys)


def test_anonymous_visitor_gets_login_for_files_and_401_from_the_api(
    run, client
) -> None:
    page = client.get(f"/demos/people/{run.public_id}/crops/1.jpg")
    api = client.get(f"/api/v1/detections/{run.public_id}/")

    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/?next=")
    assert api.status_code == 401


def test_delete_without_csrf_token_is_refused_and_keeps_the_run(
    run, user, private_media
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    before = fingerprint(private_media)

    response = client.post(f"/demos/people/{run.public_id}/delete/")

    assert response.status_code == 403
    assert DemoRun.objects.filter(pk=run.pk).exists()
    assert fingerprint(private_media) == before


@pytest.mark.parametrize("suffix", FILE_SUFFIXES)
def test_staff_can_fetch_every_file_of_a_students_run(run, staff_user, suffix) -> None:
    response = token_client(staff_user).get(f"/demos/people/{run.public_id}/{suffix}")

    assert response.status_code == 200
    assert body_of(response)


def test_staff_can_read_a_students_run_and_zip_through_the_api(run, staff_user) -> None:
    client = Client()
    client.force_login(staff_user)

    detail = client.get(f"/api/v1/detections/{run.public_id}/")
    archive = client.get(f"/api/v1/detections/{run.public_id}/crops.zip")

    assert detail.status_code == 200
    assert detail.json()["id"] == str(run.public_id)
    assert archive.status_code == 200
    assert archive["Content-Type"] == "application/zip"


# --- Login throttling, seen from one classroom -----------------------------------


def test_100_wrong_passwords_do_not_lock_out_a_classmate_behind_the_same_address(
    user, other_user
) -> None:
    # A classroom reaches the portal through one NAT address.
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    answers = [
        attacker.post("/accounts/login/", {"username": "alice", "password": "nope"})
        for _ in range(100)
    ]
    refused = attacker.post(
        "/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    classmate = Client(REMOTE_ADDR="203.0.113.9")
    welcome = classmate.post(
        "/accounts/login/", {"username": "bob", "password": DEFAULT_PASSWORD}
    )

    assert {a.status_code for a in answers} == {200, 429}
    assert "Too many failed login attempts" in answers[-1].content.decode()
    assert "Too many failed login attempts" in refused.content.decode()
    assert "_auth_user_id" not in attacker.session
    assert welcome.status_code == 302
    assert int(classmate.session["_auth_user_id"]) == other_user.pk


def test_100_wrong_passwords_on_the_token_api_get_429_and_others_still_get_tokens(
    user, other_user
) -> None:
    answers = [
        Client(REMOTE_ADDR="203.0.113.9").post(
            "/api/v1/auth/token/", {"username": "alice", "password": "nope"}
        )
        for _ in range(100)
    ]
    classmate = Client(REMOTE_ADDR="203.0.113.9").post(
        "/api/v1/auth/token/", {"username": "bob", "password": DEFAULT_PASSWORD}
    )

    assert answers[0].status_code == 400
    assert answers[-1].status_code == 429
    assert answers[-1].has_header("Retry-After")
    assert classmate.status_code == 200
    assert classmate.json()["token"]


def test_one_address_guessing_many_usernames_is_slowed_down(
    db, monkeypatch, settings
) -> None:
    # Password spraying: one wrong guess per account, from one address. The
    # address is slowed down (each check waits), never refused: a class shares it
    # (issue 21, finding 5; tests/accounts/test_login_address_slowdown.py).
    settings.LOGIN_ADDRESS_DELAY_SECONDS = 1
    waits: list[float] = []
    monkeypatch.setattr(ratelimit, "_sleep", waits.append)
    for number in range(80):
        make_user(username=f"student{number}")
    sprayer = Client(REMOTE_ADDR="198.51.100.4")
    for number in range(80):
        sprayer.post(
            "/accounts/login/",
            {"username": f"student{number}", "password": "Spring2025!"},
        )

    assert len(waits) == 80 - settings.LOGIN_ADDRESS_FAILURE_LIMIT
