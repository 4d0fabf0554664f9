from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_home_lists_sections(client: Client) -> None:
    body = client.get("/").content.decode()
    for section in ("Lessons", "Person demo", "Feature maps", "Profile"):
        assert section in body
    assert "Admin" not in body


def test_home_shows_admin_link_to_staff(staff_user) -> None:
    client = Client()
    client.force_login(staff_user)
    assert 'href="/admin/"' in client.get("/").content.decode()


def test_korean_is_chosen_for_korean_browsers(client: Client) -> None:
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9")
    body = response.content.decode()
    assert '<html lang="ko">' in body
    assert "📚 강의</h2>" in body  # the "Lessons" card, translated
    assert "사람 검출 데모" in body


def test_english_for_other_browsers(client: Client) -> None:
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()
    assert '<html lang="en">' in body


def test_language_switcher_sets_language(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "ko", "next": "/"})
    assert response.status_code == 302
    body = client.get("/").content.decode()
    assert '<html lang="ko">' in body
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/").content.decode()


def test_pages_carry_strict_csp_and_nosniff(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_gives_custom_404(client: Client) -> None:
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
