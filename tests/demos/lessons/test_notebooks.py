"""Every lesson's notebook is valid, and its code runs.

The English notebooks' code cells run top to bottom in one namespace, as "Run all"
would in Colab (cells marked ``needs ...`` are skipped); the Korean lessons must hold
the same code (compared as syntax trees, with comments and strings set aside), so
running one language checks both. Cells marked ``portal`` run inside Django here.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import pytest

from demos.lessons.loading import LessonSource, discover_lessons
from demos.lessons.notebooks import build_notebook, code_blocks
from tests.conftest import REPO_DIR

COURSE = discover_lessons(REPO_DIR / "demos" / "lessons" / "content")
BY_SLUG = {source.slug: source for source in COURSE}


def notebook_of(source: LessonSource, lang: str) -> nbformat.NotebookNode:
    text = source.text(lang)
    return build_notebook(
        title=text.title,
        summary=text.summary,
        body=text.body,
        url=f"https://example.org/lessons/{source.slug}/",
        lang=lang,
    )


def _shape(code: str) -> str:
    """The syntax tree with every string constant blanked (comments are not in it)."""
    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
        elif isinstance(node, ast.JoinedStr):
            node.values = []
    return ast.dump(tree)


def test_the_course_has_fifteen_lessons() -> None:
    assert len(COURSE) == 15


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("slug", list(BY_SLUG))
def test_every_notebook_is_valid_and_opens_with_the_lesson(
    slug: str, lang: str
) -> None:
    source = BY_SLUG[slug]
    notebook = notebook_of(source, lang)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    intro = notebook.cells[0]
    assert intro.cell_type == "markdown"
    assert intro.source.startswith(f"# {source.text(lang).title}")
    assert f"/lessons/{slug}/" in intro.source
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    if slug != "how-login-works":  # its code runs only inside the portal
        assert code and any("import torch" in cell.source for cell in code)
    # Round trip through the file format.
    assert nbformat.reads(nbformat.writes(notebook), as_version=4) == notebook


@pytest.mark.parametrize("slug", list(BY_SLUG))
def test_korean_and_english_lessons_hold_the_same_code(slug: str) -> None:
    source = BY_SLUG[slug]
    english = [b for b in code_blocks(source.text("en").body) if b.language == "python"]
    korean = [b for b in code_blocks(source.text("ko").body) if b.language == "python"]
    assert [b.kind for b in english] == [b.kind for b in korean]
    for en, ko in zip(english, korean, strict=True):
        assert _shape(en.code) == _shape(ko.code), (slug, en.code[:80])


@pytest.mark.parametrize("slug", list(BY_SLUG))
def test_notebook_code_runs_top_to_bottom(slug: str) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    for index, cell in enumerate(notebook_of(BY_SLUG[slug], "en").cells):
        if cell.cell_type != "code" or cell.source.startswith("# Needs "):
            continue
        exec(compile(cell.source, f"{slug}.ipynb cell {index}", "exec"), namespace)


@pytest.mark.django_db
def test_portal_cells_run_inside_django(client, user) -> None:
    client.force_login(user)  # so the session cell finds a row of django_session
    namespace: dict[str, object] = {"__name__": "__main__"}
    blocks = code_blocks(BY_SLUG["how-login-works"].text("en").body)
    portal = [block for block in blocks if block.kind == "portal"]
    assert len(portal) == 3
    for block in portal:
        exec(compile(block.code, "how-login-works portal cell", "exec"), namespace)
    assert callable(namespace["predict_digit"])


def test_markers_decide_what_each_fence_becomes() -> None:
    body = (
        "## One\n<!-- notebook: skip -->\n```python\nexcerpt()\n```\n"
        "## Two\n<!-- notebook: needs internet -->\n```python\ndownload()\n```\n"
        "<!-- notebook: portal -->\n```python\nfrom django import x\n```\n"
        "```text\nmodel = keras.Sequential()\n```\n```text\nx -> y\n```\n"
        "<!-- notebook: skip -->\nA paragraph cancels the marker.\n"
        "```python\nimport torch\n```\n"
    )
    blocks = code_blocks(body)
    assert [(b.kind, b.needs, b.heading) for b in blocks] == [
        ("skip", "", "One"),
        ("needs", "internet", "Two"),
        ("portal", "", "Two"),
        ("keras", "", "Two"),
        ("run", "", "Two"),
    ]
    notebook = build_notebook(title="T", summary="", body=body, url="/l/", lang="ko")
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds == ["markdown", "markdown", "code", "markdown", "markdown", "code"]
    assert notebook.cells[2].source.startswith("# 필요한 것: internet.")
    assert "excerpt()" not in nbformat.writes(notebook)


def test_notebooks_module_imports_without_django() -> None:
    code = "import sys, demos.lessons.notebooks; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
