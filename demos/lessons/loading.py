"""Lesson files: parse ``<NN>-<slug>.<lang>.md`` and render their Markdown safely.

Pure module (Markdown and nh3 only; never Django). A lesson file starts with a
front-matter block of ``key: value`` lines between two ``---`` lines (``title``,
``summary``, ``widget``, ``order``), followed by the Markdown body. Rendering runs the
Markdown library and then the nh3 sanitiser with an allow-list, so raw HTML in a
lesson (a ``<script>``, an ``onclick``, a ``javascript:`` link) never reaches a page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import markdown
import nh3

from demos.lessons import formulas as math_formulas
from portal.lib.errors import BadInput

LANGUAGES = ("en", "ko")
REQUIRED_KEYS = ("title", "order")
FILE_NAME = re.compile(
    r"^(?P<order>\d{2})-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<lang>[a-z]{2})\.md$"
)
WIDGET_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE_HEADING = re.compile(r"^##\s+.*pytorch", re.IGNORECASE)
# A line of its own in the lesson text: the widget goes here, after the paragraph
# above it (``{{ widget: pooling }}``). A lesson without one shows its widget on top.
WIDGET_MARKER = re.compile(r"^\{\{\s*widget:\s*(?P<key>[^\s}]*)\s*\}\}\s*$")

# What a lesson body may contain after rendering: text structure, tables, code, images.
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "details", "div", "em",
    "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd",
    "li", "ol", "p", "pre", "span", "strong", "sub", "summary", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    "abbr": {"title"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


class LessonFormatError(BadInput):
    """A lesson file is misnamed or its front matter is missing or malformed."""


@dataclass(frozen=True)
class LessonFile:
    """One language version of one lesson, as read from disk."""

    slug: str
    lang: str
    order: int
    title: str
    summary: str
    widget: str
    body: str  # Markdown, front matter removed
    markers: tuple[str, ...] = ()  # widgets placed in the text, in order


@dataclass(frozen=True)
class LessonSource:
    """Both language versions of a lesson; they agree on slug, order and widget."""

    slug: str
    order: int
    widget: str
    texts: dict[str, LessonFile]

    def text(self, lang: str) -> LessonFile:
        return self.texts[lang]


def split_front_matter(
    text: str, *, name: str = "lesson"
) -> tuple[dict[str, str], str]:
    """Split ``text`` into its front-matter dict and its Markdown body.

    >>> split_front_matter("---\\ntitle: Pooling\\norder: 3\\n---\\nBody")
    ({'title': 'Pooling', 'order': '3'}, 'Body\\n')
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise LessonFormatError(f"{name}: must start with a '---' front-matter line.")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    except StopIteration:
        raise LessonFormatError(
            f"{name}: the front matter has no closing '---'."
        ) from None
    meta: dict[str, str] = {}
    for line in lines[1:end]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise LessonFormatError(
                f"{name}: front-matter line {line!r} is not 'key: value'."
            )
        meta[key.strip().lower()] = value.strip().strip('"').strip("'")
    return meta, "\n".join(lines[end + 1 :]).strip() + "\n"


def parse_lesson_file(path: Path) -> LessonFile:
    """Read one lesson file named ``<NN>-<slug>.<lang>.md`` (UTF-8)."""
    match = FILE_NAME.match(path.name)
    if not match:
        raise LessonFormatError(
            f"{path.name}: expected a name like '01-convolution.en.md'."
        )
    if match["lang"] not in LANGUAGES:
        raise LessonFormatError(f"{path.name}: language must be one of {LANGUAGES}.")
    meta, body = split_front_matter(path.read_text(encoding="utf-8"), name=path.name)
    missing = [key for key in REQUIRED_KEYS if not meta.get(key)]
    if missing:
        raise LessonFormatError(
            f"{path.name}: front matter lacks {', '.join(missing)}."
        )
    if not meta["order"].isdigit() or int(meta["order"]) != int(match["order"]):
        raise LessonFormatError(
            f"{path.name}: 'order: {meta['order']}' must equal the file's number."
        )
    widget = meta.get("widget", "")
    if widget and not WIDGET_NAME.match(widget):
        raise LessonFormatError(f"{path.name}: widget {widget!r} is not a plain name.")
    markers = check_widget_markers(body, widget, name=path.name)
    try:
        math_formulas.extract(body)
    except math_formulas.MathError as exc:
        raise LessonFormatError(f"{path.name}: {exc}") from None
    return LessonFile(
        slug=match["slug"],
        lang=match["lang"],
        order=int(meta["order"]),
        title=meta["title"],
        summary=meta.get("summary", ""),
        widget=widget,
        body=body,
        markers=markers,
    )


def _outside_fences(text: str) -> list[tuple[int, str]]:
    """``(index, line)`` for every line of ``text`` outside code fences."""
    lines = text.splitlines()
    in_fence = False
    found = []
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence:
            found.append((index, line))
    return found


def widget_markers(text: str) -> list[str]:
    """The keys of the ``{{ widget: key }}`` lines outside code, in order."""
    return [
        match["key"]
        for _, line in _outside_fences(text)
        if (match := WIDGET_MARKER.match(line.strip()))
    ]


def check_widget_markers(body: str, widget: str, *, name: str) -> tuple[str, ...]:
    """The body's widget markers, checked: plain names, each once, only in the
    lesson text (not the goals above it, not the closing code section), and the
    front matter's widget among them when there are any."""
    text, code = split_code_section(body)
    intro, text = split_intro(text)
    misplaced = widget_markers(intro) + widget_markers(code)
    if misplaced:
        raise LessonFormatError(
            f"{name}: widget marker {misplaced[0]!r} must stand in the lesson text, "
            "after the goals and before the code section."
        )
    markers = widget_markers(text)
    for key in markers:
        if not WIDGET_NAME.match(key):
            raise LessonFormatError(
                f"{name}: widget marker {key!r} is not a plain name."
            )
    if len(set(markers)) != len(markers):
        raise LessonFormatError(f"{name}: a widget is placed twice in the text.")
    if markers and widget and widget not in markers:
        raise LessonFormatError(
            f"{name}: the text places widgets but not the lesson's own {widget!r}."
        )
    return tuple(markers)


def split_at_widgets(text: str) -> list[tuple[str, str]]:
    """Cut the lesson text at its widget markers: ``(markdown, widget after it)``
    pairs, the last with no widget (``""``).

    >>> split_at_widgets("A\\n{{ widget: pooling }}\\nB\\n")
    [('A\\n', 'pooling'), ('B\\n', '')]
    """
    lines = text.splitlines(keepends=True)
    parts: list[tuple[str, str]] = []
    start = 0
    for index, line in _outside_fences(text):
        match = WIDGET_MARKER.match(line.strip())
        if match:
            parts.append(("".join(lines[start:index]), match["key"]))
            start = index + 1
    parts.append(("".join(lines[start:]), ""))
    return parts


def discover_lessons(directory: Path) -> list[LessonSource]:
    """Read every ``*.md`` lesson in ``directory``, pair languages, sort by order.

    Every lesson needs one file per language in ``LANGUAGES``; both must agree on
    order and widget, and no two lessons may share an order.
    """
    files = [parse_lesson_file(path) for path in sorted(directory.glob("*.md"))]
    by_slug: dict[str, dict[str, LessonFile]] = {}
    for item in files:
        by_slug.setdefault(item.slug, {})[item.lang] = item
    sources: list[LessonSource] = []
    for slug, texts in by_slug.items():
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise LessonFormatError(f"{slug}: no text in {', '.join(missing)}.")
        if len({(t.order, t.widget, t.markers) for t in texts.values()}) != 1:
            raise LessonFormatError(
                f"{slug}: languages disagree on order, widget or widget markers."
            )
        first = texts[LANGUAGES[0]]
        sources.append(LessonSource(slug, first.order, first.widget, texts))
    orders = [source.order for source in sources]
    if len(orders) != len(set(orders)):
        raise LessonFormatError("Two lessons share the same order number.")
    return sorted(sources, key=lambda source: source.order)


def split_code_section(body: str) -> tuple[str, str]:
    """Split a body into its text and its closing "PyTorch code" section.

    The code section starts at the last level-2 heading that mentions PyTorch
    (outside code fences); the page shows it folded under "show the PyTorch code".
    Returns ``(body, "")`` when there is no such heading.

    >>> split_code_section("Intro\\n## PyTorch code\\n```python\\nx\\n```\\n")
    ('Intro\\n', '## PyTorch code\\n```python\\nx\\n```\\n')
    """
    lines = body.splitlines(keepends=True)
    in_fence = False
    start = None
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and CODE_HEADING.match(line):
            start = index
    if start is None:
        return body, ""
    return "".join(lines[:start]), "".join(lines[start:])


def split_intro(body: str) -> tuple[str, str]:
    """Split a body into its opening (the goals, before the first level-2 heading
    outside code fences) and the rest; the page shows the widget between the two
    ("try it, then read"). Returns ``("", body)`` when the body opens with a heading.

    >>> split_intro("**Goals:**\\n- a\\n## One\\nText\\n")
    ('**Goals:**\\n- a\\n', '## One\\nText\\n')
    """
    lines = body.splitlines(keepends=True)
    in_fence = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("## "):
            return "".join(lines[:index]), "".join(lines[index:])
    return "", body


def render_markdown(
    text: str, typeset: Mapping[math_formulas.Formula, str] | None = None
) -> str:
    """Markdown → HTML that is safe to mark as safe in a template.

    Fenced code blocks become ``<pre><code class="language-python">``; tables and
    images pass; any raw HTML is reduced to the allow-list (scripts, styles,
    event handlers and ``javascript:`` URLs are removed); links get
    ``rel="noopener noreferrer"``. Formulas (``$...$``, ``$$...$$``) are set aside
    before Markdown and come back after the sanitiser as ``typeset``'s KaTeX
    markup (made by ``math_formulas.render`` from the lesson's own TeX), or as their TeX
    in ``<code>`` when ``typeset`` lacks them.
    """
    text, formulas = math_formulas.extract(text)
    html = markdown.markdown(
        text, extensions=["fenced_code", "tables", "sane_lists"], output_format="html"
    )
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return math_formulas.restore(html, formulas, typeset or {})
