"""One student cannot lock the class out of login (issue 21, finding 5).

A class shares one NAT address. Sixty wrong logins for made-up usernames from it
used to refuse every login from that address for 15 minutes, right passwords
included. Now only the pair (username, address) is locked; the address as a whole
is slowed down (each check waits first), never refused (ASVS 2.2.1).
"""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import ratelimit
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db

CLASSROOM = "10.0.0.1"  # the class's one NAT address
ELSEWHERE = "10.9.9.9"


@pytest.fixture
def waits(monkeypatch, settings) -> list[float]:
    settings.LOGIN_ADDRESS_DELAY_SECONDS = 1  # recorded below, never slept
    recorded: list[float] = []
    monkeypatch.setattr(ratelimit, "_sleep", recorded.append)
    return recorded


def spray(client: Client, count: int) -> None:
    for n in range(count):
        response = client.post(
            "/accounts/login/", {"username": f"made-up-{n}", "password": "guess"}
        )
        assert response.status_code == 200  # the form again: wrong, never locked


def test_sixty_made_up_usernames_do_not_lock_out_a_classmate(
    waits: list[float], settings
) -> None:
    classmate = make_user(username="minji")
    spray(Client(REMOTE_ADDR=CLASSROOM), settings.LOGIN_ADDRESS_FAILURE_LIMIT)

    browser = Client(REMOTE_ADDR=CLASSROOM)
    response = browser.post(
        "/accounts/login/", {"username": "minji", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(classmate.pk)

    api = Client(REMOTE_ADDR=CLASSROOM).post(
        "/api/v1/auth/token/", {"username": "minji", "password": DEFAULT_PASSWORD}
    )
    assert api.status_code == 200 and api.json()["token"]


def test_the_spraying_address_is_slowed_down_and_no_other(
    waits: list[float], settings
) -> None:
    make_user(username="minji")
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    spray(Client(REMOTE_ADDR=CLASSROOM), limit)
    assert waits == []  # up to the limit nobody waits

    spray(Client(REMOTE_ADDR=CLASSROOM), 3)
    assert waits == [settings.LOGIN_ADDRESS_DELAY_SECONDS] * 3

    Client(REMOTE_ADDR=ELSEWHERE).post(
        "/accounts/login/", {"username": "minji", "password": DEFAULT_PASSWORD}
    )
    assert len(waits) == 3  # another address is not slowed


def test_guessing_one_account_still_locks_that_pair_only(
    waits: list[float], settings
) -> None:
    make_user(username="minji")
    guesser = Client(REMOTE_ADDR=CLASSROOM)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        guesser.post("/accounts/login/", {"username": "minji", "password": "nope"})
    locked = guesser.post(
        "/accounts/login/", {"username": "minji", "password": DEFAULT_PASSWORD}
    )
    assert locked.status_code == 429
    make_user(username="seoyeon")
    other = Client(REMOTE_ADDR=CLASSROOM).post(
        "/accounts/login/", {"username": "seoyeon", "password": DEFAULT_PASSWORD}
    )
    assert other.status_code == 302
