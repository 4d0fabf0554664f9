"""`check --deploy` under production settings prints no warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_production_settings_pass_deploy_check() -> None:
    # The browser tests' conftest allows async-unsafe ORM calls in this process;
    # a deployment never has that variable, and the check rightly refuses it.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings.prod",
        "PORTAL_SECRET_KEY": "x" * 20
        + "prod-secret-for-the-check-only-Zq8v3Lr0pW2nM5tY",
        "PORTAL_ALLOWED_HOSTS": "portal.example.org",
        "PORTAL_EMAIL_HOST": "smtp.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_an_email_server_gets_a_warning() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings.prod",
        "PORTAL_SECRET_KEY": "x" * 20
        + "prod-secret-for-the-check-only-Zq8v3Lr0pW2nM5tY",
        "PORTAL_ALLOWED_HOSTS": "portal.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "portal.W001" in result.stderr + result.stdout
    assert "PORTAL_EMAIL_HOST" in result.stderr + result.stdout


def test_production_settings_refuse_to_start_without_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env |= {"DJANGO_SETTINGS_MODULE": "portal.settings.prod"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY must be set" in result.stderr
