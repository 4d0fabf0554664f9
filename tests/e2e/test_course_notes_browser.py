"""The course's "what the notes got wrong" boxes and the notebook download, in a
real browser and in Korean: the box reads as a box, and the link saves a notebook
that nbformat accepts."""

from __future__ import annotations

import nbformat
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


@pytest.fixture
def korean_page(browser):
    context = browser.new_context(
        locale="ko-KR", viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_notes_box_stands_out_and_the_notebook_downloads(
    korean_page, live_url, course, tmp_path
) -> None:
    page = korean_page
    page.goto(f"{live_url}/lessons/training/")
    box = page.locator("[data-testid=lesson-body] blockquote").filter(
        has_text='부트캠프 노트 바로잡기: "7 epoch마다 0.1씩 감소"'
    )
    expect(box).to_be_visible()
    expect(box).to_contain_text("0.001 -> 0.0001")
    background = box.evaluate("node => getComputedStyle(node).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    page.locator("[data-testid=lesson-code] summary").click()
    with page.expect_download() as download_info:
        page.locator("[data-testid=lesson-notebook]").click()
    download = download_info.value
    assert download.suggested_filename == "12-training.ko.ipynb"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    notebook = nbformat.read(saved, as_version=4)
    nbformat.validate(notebook)
    assert notebook.cells[0].source.startswith("# ")
    assert any("StepLR" in cell.source for cell in notebook.cells)
