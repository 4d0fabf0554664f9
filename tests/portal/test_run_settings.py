"""`make run` serves the portal as a class meets it: DEBUG off, styled error pages.

The default settings (``manage.py`` with no ``DJANGO_SETTINGS_MODULE``, which is
what ``make run`` uses) are read in a fresh interpreter with the environment a fresh
clone has: no ``PORTAL_DEBUG``. The 404 page is fetched there through the hashed
static files ``collectstatic`` wrote, as gunicorn + whitenoise serve them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FETCH_404 = """
import json
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
response = Client().get("/no/such/page/", HTTP_HOST="127.0.0.1")
print(json.dumps({
    "debug": settings.DEBUG,
    "settings": settings.SETTINGS_MODULE,
    "hosts": settings.ALLOWED_HOSTS,
    "storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "status": response.status_code,
    "body": response.content.decode(),
}))
"""


def default_settings(tmp_path: Path, code: str, **env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "PORTAL_DEBUG")
    }
    clean |= {"PORTAL_VAR_DIR": str(tmp_path), **env}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def run_404(tmp_path_factory) -> dict:
    return json.loads(default_settings(tmp_path_factory.mktemp("var"), FETCH_404))


def test_default_settings_run_without_debug_for_local_hosts(run_404) -> None:
    assert run_404["settings"] == "portal.settings.dev"
    assert run_404["debug"] is False
    assert run_404["hosts"] == ["127.0.0.1", "localhost"]
    assert run_404["storage"].startswith("whitenoise.storage.")


def test_404_is_the_styled_page_not_the_url_list(run_404) -> None:
    body = run_404["body"]
    assert run_404["status"] == 404
    assert "Page not found" in body
    assert "Using the URLconf" not in body and "admin/" not in body
    # The stylesheet is the hashed file collectstatic wrote (served by whitenoise).
    assert re.search(r'href="/static/css/portal\.[0-9a-f]{12}\.css"', body)


def test_portal_debug_turns_debug_on(tmp_path) -> None:
    code = "from django.conf import settings; print(settings.DEBUG)"
    assert default_settings(tmp_path, code, PORTAL_DEBUG="1") == "True"


def recipe(target: str) -> str:
    text = (REPO / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n|\s*\n)+)", text, re.M)
    assert match, target
    return match.group(1)


def test_make_run_serves_with_gunicorn_and_no_debug() -> None:
    run = recipe("run")
    assert "gunicorn -c gunicorn.conf.py" in run
    assert "PORTAL_DEBUG" not in run and "runserver" not in run
    assert "static" in run  # collectstatic before serving


def test_make_dev_is_runserver_with_debug() -> None:
    dev = recipe("dev")
    assert "PORTAL_DEBUG=1" in dev and "runserver" in dev


SEND_RESET = """
from django.core import mail
mail.send_mail("Password reset", "https://portal/accounts/password/reset/Mg/tok-123/",
               "portal@localhost", ["minji@example.org"])
from django.conf import settings
print(settings.EMAIL_BACKEND)
"""


def test_make_run_never_prints_a_reset_link_to_the_log(tmp_path) -> None:
    # issue 21, finding 8: the console backend printed working reset links.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "PORTAL_DEBUG", "PORTAL_EMAIL_HOST")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEND_RESET],
        cwd=REPO,
        env=clean | {"PORTAL_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "portal.lib.mail.UnsentMailBackend"
    assert "tok-123" not in result.stdout + result.stderr
    assert "not sent" in result.stderr


def test_make_dev_still_prints_mail_to_the_console(tmp_path) -> None:
    printed = default_settings(
        tmp_path,
        "from django.conf import settings; print(settings.EMAIL_BACKEND)",
        PORTAL_DEBUG="1",
    )
    assert printed == "django.core.mail.backends.console.EmailBackend"
