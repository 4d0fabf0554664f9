"""Shared fixtures: users, clients, sample photos, private media."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from models_store.registry import REGISTRY, register, unregister
from tests.factories import make_user

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
SAMPLES_DIR = SHARED_DIR / "samples"
WEIGHTS_DIR = SHARED_DIR / "weights"
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def default_language() -> Iterator[None]:
    """Every test starts and ends in the default language: a test that activates
    Korean (a page request, ``translation.activate``) must not leak it into the
    next test that reads a message, in the same worker process."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def pinned_rate_window(monkeypatch) -> None:
    """Rates count in fixed windows (a minute, an hour): a test that started at
    second 59.9 would see its allowance renewed half-way. Each test runs inside
    one window: the clock rates read stops where the test began."""
    import time

    from portal.lib import counting

    started = time.time()
    monkeypatch.setattr(counting, "window_clock", lambda: started)


@pytest.fixture(autouse=True)
def reset_mail_sent() -> Iterator[None]:
    """Reset mail leaves on a background thread: a test ends only once its mail
    has gone, so none lands in the next test's outbox."""
    yield
    from accounts.forms import flush_reset_mail

    flush_reset_mail()


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path: Path) -> Path:
    """Every test writes uploads, crops and caches into its own temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FEATURE_MAP_CACHE_DIR = tmp_path / "cache"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def user(db):
    return make_user(username="alice", display_name="Alice Kim")


@pytest.fixture
def other_user(db):
    return make_user(username="bob", display_name="Bob Lee")


@pytest.fixture
def staff_user(db):
    return make_user(username="teacher", is_staff=True)


@pytest.fixture
def logged_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_client(other_user) -> Client:
    client = Client()
    client.force_login(other_user)
    return client


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def other_api(other_user) -> APIClient:
    client = APIClient()
    client.force_login(other_user)
    return client


@pytest.fixture(autouse=True)
def fresh_throttle_history() -> Iterator[None]:
    # Throttle counters live in the cache, which outlives a test's database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    if not SAMPLES_DIR.is_dir():
        pytest.fail(
            f"shared samples not found at {SAMPLES_DIR} (set PORTAL_SHARED_DIR)"
        )
    return SAMPLES_DIR


@pytest.fixture(scope="session")
def sample_image(samples_dir: Path) -> Path:
    return samples_dir / "people" / "grace_hopper.jpg"


@pytest.fixture(scope="session")
def imported_models_dir(tmp_path_factory) -> Path:
    """WEIGHTS_DIR imported once per session (store.import_path) into a tmp store."""
    from django.test import override_settings

    from models_store import store

    models_dir = tmp_path_factory.mktemp("models")
    # record=False: no ModelFile rows, a session fixture has no database access.
    with override_settings(MODELS_DIR=models_dir):
        store.import_path(WEIGHTS_DIR, record=False)
    return models_dir


@pytest.fixture
def models_ready(settings, imported_models_dir: Path) -> Path:
    """Point MODELS_DIR at the imported store: yolox-nano and fastestdet are ready."""
    settings.MODELS_DIR = imported_models_dir
    return imported_models_dir


@pytest.fixture
def empty_store(settings, tmp_path: Path) -> Path:
    """A model store folder with nothing in it (not created: the store makes it)."""
    settings.MODELS_DIR = tmp_path / "models"
    return settings.MODELS_DIR


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Keys registered by a test; removed (and the originals restored) afterwards."""
    saved = dict(REGISTRY)
    keys: list[str] = []
    yield keys
    for key in keys:
        unregister(key)
    for spec in saved.values():
        register(spec)
