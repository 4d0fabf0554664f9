"""The person demo's screenshots (result, compare, HOG fallback), in chromium.

Usage: start the portal (`make run WEIGHTS_DIR=../shared/weights`), then
`.venv/bin/python docs/take_people_screenshots.py [BASE_URL] [FALLBACK_URL]`. It signs
up a throw-away student, uploads a sample photo and saves PNGs under docs/screenshots/:
the result page (a crop hovered, so its box is highlighted), the compare page
(PicoDet-S 416 beside the default at one threshold), and — when FALLBACK_URL, a
second portal started with an empty model store, is given — the upload page with the
HOG fallback notice.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright
from take_screenshots import ARGS, BASE, OUT, sign_up  # same folder (run as a script)

FALLBACK = sys.argv[2] if len(sys.argv) > 2 else ""
SAMPLE = Path(__file__).resolve().parents[2] / "shared/samples/people/apollo11_crew.jpg"


def people_shots(page) -> None:
    """The result page with a crop hovered, then the compare page."""
    page.goto(f"{BASE}/demos/people/")
    page.set_input_files("input[type=file]", str(SAMPLE))
    page.click("[data-testid=upload-submit]")
    page.wait_for_url("**/demos/people/*-*/")
    page.hover("[data-crop]:not([hidden]) >> nth=1")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "person-demo.png"), full_page=True)
    page.select_option("select[name=detector]", "picodet-s-416")
    page.click("[data-testid=compare-submit]")
    page.wait_for_url("**/compare/*-*/")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "person-compare.png"), full_page=True)


def fallback_shot(browser) -> None:
    """The upload page of a portal whose model store is empty (HOG fallback)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    sign_up(page, FALLBACK)
    page.goto(f"{FALLBACK}/demos/people/")
    page.screenshot(path=str(OUT / "person-fallback.png"), full_page=True)
    page.close()


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        if FALLBACK:
            fallback_shot(browser)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
        sign_up(page, BASE)
        people_shots(page)
        browser.close()


if __name__ == "__main__":
    main()
