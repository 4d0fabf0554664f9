"""Lesson files parse into front matter + Markdown, and render to safe HTML."""

from __future__ import annotations

from pathlib import Path

import pytest

from demos.lessons import loading as lessons
from demos.lessons.loading import (
    LessonFormatError,
    discover_lessons,
    parse_lesson_file,
    render_markdown,
    split_front_matter,
    split_intro,
)
from tests.conftest import REPO_DIR

LESSONS_DIR = REPO_DIR / "demos" / "lessons" / "content"
COURSE = [
    ("convolution", "kernel-playground"),
    ("stride-padding", "output-size"),
    ("pooling", "pooling"),
    ("feature-maps", "feature-maps"),
    ("draw-a-digit", "draw-digit"),
    ("activation-batchnorm-dropout", "activations"),
    ("classic-architectures", "architectures"),
    ("transfer-learning", "transfer-learning"),
    ("data-augmentation", "augmentation"),
    ("object-detection", "iou-nms"),
    ("autoencoders-tsne", "autoencoder-tsne"),
    ("training", "training-curves"),
    ("recurrent-networks", "lstm-gates"),
    ("vision-tasks", "vision-tasks"),
    ("how-login-works", "session-inspector"),
]


def write_lesson(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_front_matter_and_body_are_split() -> None:
    meta, body = split_front_matter(
        "---\ntitle: Pooling\nsummary: 'Max, avg'\norder: 3\n---\n\n# Hi\n"
    )
    assert meta == {"title": "Pooling", "summary": "Max, avg", "order": "3"}
    assert body == "# Hi\n"


def test_a_lesson_file_gives_slug_language_and_fields(tmp_path: Path) -> None:
    path = write_lesson(
        tmp_path,
        "03-pooling.ko.md",
        "---\ntitle: 풀링\nsummary: 최대와 평균\nwidget: pooling\norder: 3\n"
        "---\n본문\n",
    )
    lesson = parse_lesson_file(path)
    assert (lesson.slug, lesson.lang, lesson.order) == ("pooling", "ko", 3)
    assert (lesson.title, lesson.summary, lesson.widget) == (
        "풀링",
        "최대와 평균",
        "pooling",
    )
    assert lesson.body == "본문\n"


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        ("pooling.en.md", "---\ntitle: P\norder: 3\n---\n", "expected a name"),
        ("03-pooling.fr.md", "---\ntitle: P\norder: 3\n---\n", "language"),
        ("03-pooling.en.md", "title: P\norder: 3\n", "must start with"),
        ("03-pooling.en.md", "---\ntitle: P\norder: 3\n", "no closing"),
        ("03-pooling.en.md", "---\norder: 3\n---\n", "lacks title"),
        ("03-pooling.en.md", "---\ntitle: P\norder: 4\n---\n", "must equal"),
        ("03-pooling.en.md", "---\ntitle: P\norder: 3\nwidget: ../x\n---\n", "widget"),
        ("03-pooling.en.md", "---\ntitle P\norder: 3\n---\n", "key: value"),
    ],
)
def test_malformed_lesson_files_are_refused_with_the_reason(
    tmp_path: Path, name: str, text: str, complaint: str
) -> None:
    path = write_lesson(tmp_path, name, text)
    with pytest.raises(LessonFormatError, match=complaint):
        parse_lesson_file(path)


def test_a_lesson_needs_both_languages(tmp_path: Path) -> None:
    write_lesson(tmp_path, "01-a.en.md", "---\ntitle: A\norder: 1\n---\n")
    with pytest.raises(LessonFormatError, match="no text in ko"):
        discover_lessons(tmp_path)


def test_two_lessons_cannot_share_an_order(tmp_path: Path) -> None:
    for slug in ("a", "b"):
        for lang in ("en", "ko"):
            write_lesson(
                tmp_path, f"01-{slug}.{lang}.md", "---\ntitle: X\norder: 1\n---\n"
            )
    with pytest.raises(LessonFormatError, match="share"):
        discover_lessons(tmp_path)


def test_the_course_in_the_repository_has_fifteen_lessons_in_order() -> None:
    course = discover_lessons(LESSONS_DIR)
    assert [(source.slug, source.widget) for source in course] == COURSE
    assert [source.order for source in course] == list(range(1, 16))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_lesson_text_is_substantial_and_ends_with_pytorch_code(lang: str) -> None:
    for source in discover_lessons(LESSONS_DIR):
        text = source.text(lang)
        words = len(text.body.split())
        # Korean words are longer, so fewer of them fill the same page.
        assert words >= (300 if lang == "en" else 180), (source.slug, lang, words)
        assert text.title and text.summary
        html = render_markdown(text.body)
        last_code = html.rsplit('<code class="language-python">', 1)
        assert len(last_code) == 2, source.slug
        assert "import torch" in last_code[1], source.slug


def test_the_opening_goals_are_split_from_the_first_section() -> None:
    body = "**Goals:**\n\n- one\n\n```python\n## not a heading\n```\n## First\nText\n"
    intro, rest = split_intro(body)
    assert intro.startswith("**Goals:**") and "## not a heading" in intro
    assert rest == "## First\nText\n"
    assert split_intro("## First\nText\n") == ("", "## First\nText\n")


def test_fenced_code_tables_and_links_render() -> None:
    html = render_markdown(
        "Text with `x`.\n\n```python\nif a < b:\n    pass\n```\n\n"
        "| k | out |\n|---|---|\n| 3 | 30 |\n\n[docs](https://pytorch.org/docs)\n"
    )
    assert '<pre><code class="language-python">if a &lt; b:' in html
    assert "<table>" in html and "<td>30</td>" in html
    assert (
        '<a href="https://pytorch.org/docs" rel="noopener noreferrer">docs</a>' in html
    )


@pytest.mark.parametrize(
    ("markdown_text", "forbidden"),
    [
        ("<script>alert('x')</script>", "<script"),
        ("Hi <img src=x onerror=alert(1)>", "onerror"),
        ("[click](javascript:alert(1))", "javascript:"),
        ('<a href="#" onclick="steal()">x</a>', "onclick"),
        ("<style>body{display:none}</style>", "<style"),
        ('<iframe src="https://evil.example"></iframe>', "<iframe"),
        ('<p style="color:red">x</p>', "style="),
        ("<svg><script>alert(1)</script></svg>", "alert"),
    ],
)
def test_raw_html_cannot_smuggle_script_into_a_lesson(
    markdown_text: str, forbidden: str
) -> None:
    assert forbidden not in render_markdown(markdown_text).lower()


def test_doctests_hold() -> None:
    import doctest

    assert doctest.testmod(lessons).failed == 0
