"""The "Show the PyTorch code" block: one include, each snippet in one file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from demos.lessons.services import load_lessons

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
WIDGETS = sorted((TEMPLATES / "demos/widgets").glob("*.html"))
SNIPPETS = sorted((TEMPLATES / "demos/widgets/pytorch").glob("*.txt"))
INCLUDE = '{% include "includes/_pytorch_code.html" with '


@pytest.mark.parametrize("path", WIDGETS, ids=lambda p: p.name)
def test_no_widget_template_repeats_the_code_block(path: Path) -> None:
    html = path.read_text()
    assert "<pre" not in html
    assert "Show the PyTorch code" not in html
    assert 'class="widget-code"' not in html and 'class="code-details"' not in html


def test_every_snippet_is_shown_by_exactly_one_include() -> None:
    used = re.findall(
        r'snippet="demos/widgets/pytorch/([\w-]+\.txt)"',
        "".join(path.read_text() for path in WIDGETS),
    )
    assert sorted(used) == [path.name for path in SNIPPETS]
    assert len(SNIPPETS) >= 10


@pytest.mark.django_db
def test_lesson_page_shows_each_code_block_in_korean(client) -> None:
    load_lessons()
    html = client.get("/lessons/convolution/", HTTP_ACCEPT_LANGUAGE="ko")
    html = html.content.decode()
    # The kernel playground (filled by its script) and the conv-steps snippet.
    assert html.count("<summary>PyTorch 코드 보기</summary>") == 2
    assert '<pre><code class="language-python" data-role="code"></code></pre>' in html
    snippet = (TEMPLATES / "demos/widgets/pytorch/conv-steps.txt").read_text()
    # Shown verbatim: no newline slipped in at the end of the <pre>.
    assert f"<pre><code>{snippet}</code></pre>" in html
    assert snippet.startswith("import torch") and not snippet.endswith("\n")
