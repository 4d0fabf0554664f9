"""Real-browser fixtures: Debian's chromium driven by Playwright against a live server.

`playwright install` cannot download a browser here, so the tests launch
/usr/bin/chromium (installed by `make browser`). Tests are marked `e2e`.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from demos.lessons.services import load_lessons
from tests.factories import DEFAULT_PASSWORD, make_user

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made
# by fixtures in the same thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: run `make browser` (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def browser_page(browser, request) -> Iterator:
    context = browser.new_context(
        locale="en-US", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True
        )
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call) -> Iterator:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def logged_in_page(browser_page, live_url, transactional_db):
    """A page logged in, through the real login form, as a fresh user."""
    username = f"e2e-{uuid.uuid4().hex[:8]}"
    make_user(username=username)
    page = browser_page
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    page.username = username  # type: ignore[attr-defined]
    return page


@pytest.fixture
def course(transactional_db) -> None:
    """The fifteen lessons loaded, as `make run` loads them."""
    load_lessons()


def watch_errors(page) -> list[str]:
    """Page errors and console errors the page reports while a test drives it."""
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    return found


@pytest.fixture
def korean_page(browser, live_url, transactional_db) -> Iterator:
    """A tall page in Korean, logged in as a fresh student (``page.username``)."""
    context = browser.new_context(
        locale="ko-KR", viewport={"width": 1280, "height": 2600}
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    username = f"e2e-{uuid.uuid4().hex[:8]}"
    make_user(username=username)
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    page.username = username  # type: ignore[attr-defined]
    yield page
    context.close()
