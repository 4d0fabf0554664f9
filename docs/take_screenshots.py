"""Screenshots for the README, taken from a running portal with Debian's chromium.

Usage: start the portal (`make run WEIGHTS_DIR=../shared/weights`), create an admin
(`manage.py createsuperuser`), then

    PORTAL_SCREENSHOT_ADMIN=user:password .venv/bin/python docs/take_screenshots.py URL

It signs up a throw-away student, runs the object-detection lesson's sample photo
through the person demo and saves PNGs under docs/screenshots/, named
``<page>-<ko|en>-<desktop|phone>.png`` (desktop 1280 px wide, phone 390 px). Korean
text needs `fonts-noto-cjk` (`make browser` installs it). Without
PORTAL_SCREENSHOT_ADMIN the admin pages are skipped.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
VIEWPORTS = {
    "desktop": {"width": 1280, "height": 900},
    "phone": {"width": 390, "height": 844},
}
PHONE_MAX_HEIGHT = 1800  # a phone shot shows the first screens, not a 10 m page
PASSWORD = "tensor-flow-42x"

# (name, path, languages, viewports); "{run}" is the demo run made below.
PAGES = [
    ("home", "/", ("ko", "en"), ("desktop", "phone")),
    ("person-demo", "{run}", ("ko", "en"), ("desktop", "phone")),
    ("upload", "/demos/people/?sample=apollo-crew", ("ko",), ("desktop",)),
    ("lessons", "/lessons/", ("ko",), ("desktop",)),
    ("convolution", "/lessons/convolution/", ("ko", "en"), ("desktop", "phone")),
    ("feature-maps", "/lessons/feature-maps/", ("ko",), ("desktop",)),
    ("profile", "/accounts/profile/", ("ko",), ("desktop",)),
]
ADMIN_PAGES = [
    ("admin-models", "/admin/models_store/modelfile/", ("ko",), ("desktop",)),
    ("admin-runs", "/admin/demos/demorun/", ("ko",), ("desktop",)),
]


def shoot(page: Page, name: str, language: str, viewport: str) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)  # widgets draw on their canvases after the data
    path = OUT / f"{name}-{language}-{viewport}.png"
    if viewport == "phone":
        height = min(PHONE_MAX_HEIGHT, page.evaluate("document.body.scrollHeight"))
        clip = {"x": 0, "y": 0, "width": VIEWPORTS["phone"]["width"], "height": height}
        page.screenshot(path=str(path), full_page=True, clip=clip)
    else:
        page.screenshot(path=str(path), full_page=True)
    print(path.relative_to(OUT.parent.parent))


def sign_up(page: Page, base: str = BASE) -> None:
    """A throw-away student (also used by the person-demo and widget scripts)."""
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=username]", f"shot-{uuid.uuid4().hex[:6]}")
    page.fill("input[name=display_name]", "김민지")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/")


def log_in(page: Page, username: str, password: str) -> None:
    page.goto(f"{BASE}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("input[type=submit]")


def walk(browser, pages: list, login, run_path: str) -> None:
    for language in ("ko", "en"):
        locale = "ko-KR" if language == "ko" else "en-US"
        context = browser.new_context(locale=locale, viewport=VIEWPORTS["desktop"])
        page = context.new_page()
        login(page)
        for name, path, languages, viewports in pages:
            if language not in languages:
                continue
            for viewport in viewports:
                page.set_viewport_size(VIEWPORTS[viewport])
                page.goto(BASE + path.format(run=run_path))
                shoot(page, name, language, viewport)
        context.close()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(locale="ko-KR", viewport=VIEWPORTS["desktop"])
        page = context.new_page()
        sign_up(page)
        cookies = context.cookies()
        # The lesson's sample, one click from the upload page: no file to download.
        page.goto(f"{BASE}/demos/people/?sample=apollo-crew")
        page.click("[data-testid=upload-submit]")
        page.wait_for_url("**/demos/people/*-*/")
        run_path = page.url.removeprefix(BASE)
        context.close()

        walk(browser, PAGES, lambda page: page.context.add_cookies(cookies), run_path)
        admin = os.environ.get("PORTAL_SCREENSHOT_ADMIN", "")
        if ":" in admin:
            username, password = admin.split(":", 1)
            walk(
                browser,
                ADMIN_PAGES,
                lambda page: log_in(page, username, password),
                run_path,
            )
        browser.close()


if __name__ == "__main__":
    main()
