"""Production settings as a visitor meets them: HTTPS, HSTS, secure cookies, a strict
CSP with no inline script anywhere, nosniff on every image, and error pages without
stack traces.

The security values come from ``portal.settings.prod`` itself, read in a fresh
interpreter (it needs its environment variables) and applied to the test settings;
only the static files storage stays the test one (the manifest needs collectstatic).
``check --deploy`` is tested in tests/accounts/test_deploy_check.py.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

from demos.people import services
from tests.factories import DEFAULT_PASSWORD
from tests.support import body_of

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
HOST = "portal.example.org"
PROD_NAMES = [
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
    "MIDDLEWARE",
]
READ_SETTINGS = """
import json, sys
from django.conf import settings
values = {name: getattr(settings, name) for name in sys.argv[1:]}
print(json.dumps(values))
"""


@pytest.fixture(scope="session")
def prod_values() -> dict:
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.prod",
        "PORTAL_SECRET_KEY": "prod-only-for-this-test-" + "k" * 40,
        "PORTAL_ALLOWED_HOSTS": HOST,
    }
    result = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS, *PROD_NAMES],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


@pytest.fixture
def production(settings, prod_values) -> None:
    for name, value in prod_values.items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    settings.ALLOWED_HOSTS = [HOST]
    settings.MIDDLEWARE = list(prod_values["MIDDLEWARE"])
    settings.WHITENOISE_USE_FINDERS = True  # serve static files without collectstatic


def https_client(**extra) -> Client:
    # As behind the TLS-terminating proxy prod.py trusts (SECURE_PROXY_SSL_HEADER).
    return Client(HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https", **extra)


def test_plain_http_is_redirected_to_https(production) -> None:
    response = Client(HTTP_HOST=HOST).get("/accounts/login/")

    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/accounts/login/"


def test_healthz_answers_over_plain_http_without_a_redirect(production) -> None:
    response = Client(HTTP_HOST=HOST).get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_api_docs_run_under_the_strict_csp_with_their_script_as_a_file(
    production,
) -> None:
    client = https_client()
    response = client.get("/api/docs/")
    html = response.content.decode()
    csp = response["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)

    assert response.status_code == 200
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "<style" not in html
    assert len(scripts) == 3
    # Every script is a same-origin file ('self'), none inline.
    assert all(body.strip() == "" for _attrs, body in scripts)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts]
    assert all(src.startswith("/") for src in sources)
    init = client.get(sources[-1].replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in init.content


def test_pages_carry_hsts_strict_csp_and_no_framing(production) -> None:
    response = https_client().get("/")

    csp = response["Content-Security-Policy"]
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_csrf_and_session_cookies_are_secure_and_http_only(production, user) -> None:
    client = https_client()
    login_page = client.get("/accounts/login/")
    token = login_page.cookies["csrftoken"]

    response = client.post(
        "/accounts/login/",
        {
            "username": "alice",
            "password": DEFAULT_PASSWORD,
            "csrfmiddlewaretoken": token.value,
        },
    )

    session = response.cookies["sessionid"]
    assert response.status_code == 302
    assert token["secure"] is True
    assert (session["secure"], session["httponly"]) == (True, True)
    assert session["samesite"] == "Lax"


@pytest.fixture
def run(user, samples_dir, models_ready):
    return services.create_demo_run(
        owner=user,
        data=(samples_dir / "people" / "jockey.jpg").read_bytes(),
        original_name="jockey.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [
        ("image.jpg", "image/jpeg"),
        ("annotated.jpg", "image/jpeg"),
        ("annotated.jpg?score_threshold=0.1", "image/jpeg"),
        ("thumb.jpg", "image/jpeg"),
        ("crops/1.jpg", "image/jpeg"),
        ("crops/1.jpg?download=1", "image/jpeg"),
        ("crops.zip", "application/zip"),
    ],
)
def test_every_served_image_is_nosniff_and_private(
    production, run, user, suffix, content_type
) -> None:
    client = https_client()
    client.force_login(user)

    response = client.get(f"/demos/people/{run.public_id}/{suffix}")

    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "private" in response["Cache-Control"]
    assert body_of(response)


def test_static_images_are_nosniff_too(production) -> None:
    response = https_client().get("/static/img/logo.svg")

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_is_the_portals_404_without_debug_details(production) -> None:
    response = https_client().get("/demos/people/not-a-run/")

    html = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in html
    assert "URLconf" not in html
    assert "Traceback" not in html


@pytest.mark.urls("tests.portal.failing_urls")
def test_a_bug_shows_the_500_page_without_a_traceback_and_is_logged(
    production, caplog
) -> None:
    client = https_client(raise_request_exception=False)

    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/broken/")

    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "secret-internal-detail" not in html
    assert "Traceback" not in html
    assert "DeliberateBug" not in html
    errors = [r for r in caplog.records if r.name == "django.request"]
    assert errors and errors[0].exc_info[0].__name__ == "DeliberateBug"


# --- No inline script or style anywhere -----------------------------------------


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        for name, _value in attrs:
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.problems.append("<style> element")
        is_data = names.get("type") in ("application/json", "application/ld+json")
        self._in_script = tag == "script" and "src" not in names and not is_data

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]}")


def inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems


TEMPLATES = sorted((REPO / "templates").rglob("*.html"))


@pytest.mark.parametrize(
    "template", TEMPLATES, ids=[str(t.relative_to(REPO)) for t in TEMPLATES]
)
def test_no_template_holds_inline_script_style_or_event_handlers(
    template: Path,
) -> None:
    assert inline_code(template.read_text(encoding="utf-8")) == []


def test_the_finder_catches_what_csp_would_block() -> None:
    html = (
        '<p style="color:red" onclick="x()">a</p><style>p{}</style>'
        "<script>alert(1)</script><script src=/a.js></script>"
        '<script type="application/json">{"a": 1}</script>'
    )

    assert inline_code(html) == [
        "<p style=...>",
        "<p onclick=...>",
        "<style> element",
        "inline <script>: alert(1)",
    ]


def test_rendered_pages_hold_no_inline_script_style_or_handlers(
    production, run, user
) -> None:
    client = https_client()
    client.force_login(user)
    paths = [
        "/",
        "/demos/people/",
        "/demos/people/history/",
        f"/demos/people/{run.public_id}/",
        "/accounts/profile/",
        "/lessons/",
    ]

    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert inline_code(response.content.decode()) == [], path

    anonymous = https_client()
    for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        assert inline_code(anonymous.get(path).content.decode()) == [], path
