"""A Korean-speaking student and instructor walk the portal: no English message left.

Every text a user can see (text nodes that are rendered, button values, placeholders;
not the lesson texts, which authors write in each language, nor code)
is compared with the English messages of locale/ko/LC_MESSAGES/django.po that have a
Korean translation: showing one of them in English means a string skipped gettext,
a page forgot ``{% translate %}``, or a script wrote a text of its own.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from demos.lessons.services import load_lessons
from tests.e2e.conftest import ARTIFACTS
from tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

CATALOG = Path(__file__).resolve().parents[2] / "locale/ko/LC_MESSAGES/django.po"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', re.M)

# Every rendered text of the page, the values of buttons and the placeholders.
VISIBLE_TEXTS = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    // Lesson texts are written per language (a Korean text may say "Laplacian").
    const skipped = "script, style, code, pre, template, [data-testid=lesson-body]";
    if (!parent || parent.closest(skipped)) continue;
    // The language switch names each language in itself ("English").
    if (parent.closest("[lang]").lang !== document.documentElement.lang) continue;
    if (!parent.checkVisibility({ visibilityProperty: true })) continue;
    texts.push(node.textContent);
  }
  document.querySelectorAll("input[type=submit], input[type=button], [placeholder]")
    .forEach((el) => {
      if (el.checkVisibility()) texts.push(el.value || "", el.placeholder || "");
    });
  return texts;
}"""


def _unquote(block: str) -> str:
    parts = re.findall(r'^"(.*)"$', block, re.M)
    return "".join(parts).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def translated_english() -> set[str]:
    """English msgids whose Korean translation differs from them."""
    english = set()
    for match in ENTRY.finditer(CATALOG.read_text(encoding="utf-8")):
        msgid, msgstr = _unquote(match.group(1)), _unquote(match.group(2))
        if msgid and msgstr and msgstr != msgid:
            english.add(" ".join(msgid.split()))
    return english


@pytest.fixture
def korean_page(browser, live_url, transactional_db, models_ready):
    load_lessons()
    username = f"kim-{uuid.uuid4().hex[:6]}"
    make_user(username=username, is_staff=True, is_superuser=True)
    context = browser.new_context(
        locale="ko-KR", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.username = username  # type: ignore[attr-defined]
    yield page
    context.close()


def english_on(page, english: set[str]) -> list[str]:
    page.wait_for_load_state("networkidle")
    seen = (" ".join(text.split()) for text in page.evaluate(VISIBLE_TEXTS))
    return sorted({text for text in seen if text in english})


def test_korean_pages_show_no_english_message(
    korean_page, live_url, samples_dir
) -> None:
    page = korean_page
    english = translated_english()
    assert len(english) > 500  # the catalog was read
    found: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        page.goto(f"{live_url}{path}")
        if leftovers := english_on(page, english):
            found[path] = leftovers

    for path in ("/", "/accounts/login/", "/accounts/signup/"):
        visit(path)
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=username]", page.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{live_url}/")

    for path in (
        "/accounts/profile/",
        "/lessons/",
        "/lessons/convolution/",
        "/lessons/feature-maps/",
        "/lessons/data-augmentation/",
        "/lessons/object-detection/",
        "/demos/people/",
    ):
        visit(path)

    page.goto(f"{live_url}/demos/people/")
    page.set_input_files(
        "input[name=images]", str(samples_dir / "people" / "apollo11_crew.jpg")
    )
    page.select_option("select[name=detector]", "yolox-nano")
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/demos/people/[0-9a-f-]{36}/$"))
    result = page.url.removeprefix(live_url)
    for path in (
        result,
        "/demos/people/history/",
        "/admin/",
        "/admin/models_store/modelfile/",
        "/admin/demos/demorun/",
        "/admin/demos/lessonprogress/",
    ):
        visit(path)

    if found:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "korean-ui-last.png"), full_page=True)
    assert found == {}


def test_upload_page_has_its_own_korean_file_button(
    korean_page, live_url, samples_dir
) -> None:
    page = korean_page
    page.goto(f"{live_url}/accounts/login/")
    page.fill("input[name=username]", page.username)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("form.form button[type=submit]")
    page.goto(f"{live_url}/demos/people/")

    native = page.locator("input[name=images]").bounding_box()
    assert native["width"] <= 1 and native["height"] <= 1  # out of sight, not gone
    button = page.locator(".dropzone-button")
    assert button.inner_text() == "사진 고르기"
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(str(samples_dir / "people" / "apollo11_crew.jpg"))
    assert "apollo11_crew.jpg" in page.text_content("[data-file-list]")


def test_augmentation_select_names_the_photo_it_shows(korean_page, live_url) -> None:
    page = korean_page
    page.goto(f"{live_url}/lessons/data-augmentation/")
    page.wait_for_load_state("networkidle")
    select = page.locator("#augment-sample")
    assert select.locator("option:checked").inner_text() == "아폴로 11호 승무원"
    original = page.locator("[data-role=original]")
    assert original.get_attribute("src").endswith("apollo11_crew.jpg")
    assert "/apollo-crew.png" in page.locator("[data-role=grid]").get_attribute("src")

    select.select_option(label="자전거 선수 네 명")
    expect(original).to_have_attribute("src", re.compile(r"cyclists\.jpg$"))
