"""Screenshots for the README, taken from a running portal with Debian's chromium.

Usage: start the portal (`make run WEIGHTS_DIR=../shared/weights`), then
`.venv/bin/python docs/take_screenshots.py [BASE_URL]`. It signs up a throw-away
student, uploads a sample photo and saves PNGs under docs/screenshots/.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).resolve().parent / "screenshots"
SAMPLE = Path(__file__).resolve().parents[2] / "shared/samples/people/apollo11_crew.jpg"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
        page.goto(f"{BASE}/accounts/signup/")
        name = f"shot-{uuid.uuid4().hex[:6]}"
        page.fill("input[name=username]", name)
        page.fill("input[name=display_name]", "김민지")
        page.fill("input[name=password1]", "tensor-flow-42x")
        page.fill("input[name=password2]", "tensor-flow-42x")
        page.click("form.form button[type=submit]")
        page.goto(f"{BASE}/demos/people/")
        page.set_input_files("input[type=file]", str(SAMPLE))
        page.click("[data-testid=upload-submit]")
        page.wait_for_url("**/demos/people/*-*/")
        page.screenshot(path=str(OUT / "person-demo.png"), full_page=True)
        for path, shot in [
            ("/", "home"),
            ("/accounts/profile/", "profile"),
            ("/lessons/", "lessons"),
            ("/lessons/feature-maps/", "feature-maps"),
            ("/lessons/convolution/", "convolution"),
        ]:
            page.goto(f"{BASE}{path}")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / f"{shot}.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main()
