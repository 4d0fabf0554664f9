"""Login limits on every path (findings 3-5): admin, site, token API; per
(username, address) with a cool-off; exact under parallel guesses."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db

ATTACKER = "10.0.0.66"
OWNER = "10.0.0.7"
INVALID = "correct username and password"


@pytest.fixture
def teacher(db) -> User:
    return make_user(username="teacher", is_staff=True, is_superuser=True)


def test_admin_login_is_limited_like_the_site_login(teacher: User) -> None:
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(30):
        attacker.post("/admin/login/", {"username": "teacher", "password": "nope"})
    response = attacker.post(
        "/admin/login/", {"username": "teacher", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in attacker.session


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(user: User) -> None:
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for _ in range(50):
        attacker.post("/accounts/login/", {"username": "alice", "password": "nope"})
        attacker.post("/api/v1/auth/token/", {"username": "alice", "password": "x"})
    owner = Client(REMOTE_ADDR=OWNER)
    response = owner.post(
        "/accounts/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert int(owner.session["_auth_user_id"]) == user.pk
    token = owner.post(
        "/api/v1/auth/token/", {"username": "alice", "password": DEFAULT_PASSWORD}
    )
    assert token.status_code == 200


def test_the_lock_lifts_after_the_cool_off(client: Client, user: User) -> None:
    for _ in range(5):
        client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    right = {"username": "alice", "password": DEFAULT_PASSWORD}
    assert client.post("/accounts/login/", right).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert client.post("/accounts/login/", right).status_code == 302


def test_a_right_password_resets_the_count(client: Client, user: User) -> None:
    for _ in range(4):
        client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    right = {"username": "alice", "password": DEFAULT_PASSWORD}
    assert client.post("/accounts/login/", right).status_code == 302
    client.logout()
    for _ in range(4):
        client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert client.post("/accounts/login/", right).status_code == 302


def _guess_in_parallel(path: str, count: int) -> list[str]:
    barrier = threading.Barrier(count)
    answers: list[str] = []

    def guess() -> None:
        client = Client(REMOTE_ADDR=ATTACKER)
        barrier.wait()
        response = client.post(path, {"username": "alice", "password": "nope"})
        answers.append(f"{response.status_code} {response.content.decode()}")

    threads = [threading.Thread(target=guess) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a guess hung"
    return answers


@pytest.mark.django_db(transaction=True)
def test_forty_parallel_guesses_check_at_most_the_limit(user: User) -> None:
    answers = _guess_in_parallel("/accounts/login/", 40)
    assert len(answers) == 40
    checked = [a for a in answers if INVALID in a]
    refused = [a for a in answers if a.startswith("429") or "being checked" in a]
    assert 1 <= len(checked) <= 5
    assert len(checked) + len(refused) == 40
    # Axes also counts the refused tries of a locked pair; the password was
    # checked at most five times, and the pair is locked now.
    right = {"username": "alice", "password": DEFAULT_PASSWORD}
    after = Client(REMOTE_ADDR=ATTACKER).post("/accounts/login/", right)
    assert after.status_code == 429 or len(checked) < 5


@pytest.mark.django_db(transaction=True)
def test_forty_parallel_token_guesses_check_at_most_the_limit(user: User) -> None:
    answers = _guess_in_parallel("/api/v1/auth/token/", 40)
    checked = [a for a in answers if a.startswith("400")]
    refused = [a for a in answers if a.startswith("429")]
    assert 1 <= len(checked) <= 5
    assert len(checked) + len(refused) == 40
