"""The lesson page's layout (issue 19): formulas typeset with KaTeX on the server,
widgets next to the paragraph they illustrate, SVG diagrams from static/."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

from demos.lessons import formulas
from demos.lessons.loading import (
    LessonFormatError,
    discover_lessons,
    parse_lesson_file,
    render_markdown,
    split_at_widgets,
)
from demos.lessons.selectors import KATEX_DIR
from demos.lessons.services import LESSONS_DIR, load_lessons
from demos.widgets.registry import WIDGETS
from tests.conftest import REPO_DIR

STYLE_ATTRIBUTE = re.compile(r"<[a-z]+\s[^>]*\bstyle=", re.IGNORECASE)


def visible_text(html: str) -> str:
    """What a reader sees: no code, no TeX source annotations, no tags."""
    html = re.sub(r"<(pre|code|annotation)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def page(client: Client, path: str, lang: str = "en") -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200, (path, response.status_code)
    return response.content.decode()


# --- Formulas ----------------------------------------------------------------------


def test_formulas_are_set_aside_outside_code_only() -> None:
    text, found = formulas.extract(
        "Cost $5 and $x^2$ here; `$not$` and $y$는 값.\n\n```\n$$ code $$\n```\n"
        "$$\n\\frac{a}{b}\n$$\n"
    )
    assert found == [
        formulas.Formula("x^2", display=False),
        formulas.Formula("y", display=False),
        formulas.Formula("\\frac{a}{b}", display=True),
    ]
    assert "Cost $5 and KXMATH0X here; `$not$` and KXMATH1X는" in text
    assert "$$ code $$" in text  # inside a code fence


def test_doctests_hold() -> None:
    assert doctest.testmod(formulas).failed == 0


def test_an_unclosed_display_formula_is_a_clear_error() -> None:
    with pytest.raises(formulas.MathError, match="never closed"):
        formulas.extract("$$\nx + 1\n")


def test_katex_typesets_and_rejects_bad_tex() -> None:
    good = formulas.Formula(r"\sqrt{2 / n}", display=False)
    html = formulas.render([good], katex=KATEX_DIR)[good]
    assert 'class="katex"' in html and "<math" in html  # visible HTML + MathML
    with pytest.raises(formulas.MathError, match=r"\\frac\{"):
        formulas.render([formulas.Formula(r"\frac{", display=True)], katex=KATEX_DIR)


def test_inline_styles_become_classes_with_their_rules() -> None:
    formula = formulas.Formula(r"x^2 + \frac{1}{2}", display=True)
    raw = formulas.render([formula], katex=KATEX_DIR)[formula]
    assert 'style="' in raw  # what KaTeX writes; the CSP forbids it
    html, styles = formulas.styles_to_classes(raw)
    assert 'style="' not in html and styles
    css = formulas.stylesheet(styles)
    for name in styles:
        assert name in html and f".katex .{name}{{" in css


def test_markdown_keeps_tex_away_from_emphasis_and_tables() -> None:
    text = "| a | b |\n|---|---|\n| $|x|$ | $a_1 * b_2 * c$ |\n"
    _, found = formulas.extract(text)
    html = render_markdown(text, formulas.render(found, katex=KATEX_DIR))
    assert html.count('class="katex"') == 2
    assert "<em>" not in html and html.count("<td>") == 2
    without_katex = render_markdown(text)  # KaTeX not run: the TeX as code
    assert '<code class="math-source">|x|</code>' in without_katex
    assert "$" not in visible_text(without_katex)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lesson_formulas_render_as_katex_with_no_dollar_or_inline_style(
    client: Client, lang: str
) -> None:
    load_lessons()
    html = page(client, "/lessons/training/", lang)
    body = html[html.index('data-testid="lesson-body"') :]
    assert body.count('class="katex"') >= 8
    assert 'class="katex-display"' in body  # $$...$$ blocks
    assert "$" not in visible_text(body)
    assert "m  <-  b1 * m" not in body  # the old ASCII Adam update is gone
    assert not STYLE_ATTRIBUTE.search(html)
    assert "vendor/katex/katex.min.css" in html
    css_url = re.search(r'href="(/lessons/training/math\.css\?v=\d+)"', html)
    assert css_url
    response = client.get(css_url[1])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    css = response.content.decode()
    for name in set(re.findall(r"\bkx-[0-9a-f]{10}\b", body)):
        assert f".katex .{name}{{" in css, name


@pytest.mark.django_db
def test_every_lesson_page_leaves_no_formula_untypeset(client: Client) -> None:
    load_lessons()
    for path in sorted(LESSONS_DIR.glob("*.md")):
        source = parse_lesson_file(path)
        html = page(client, f"/lessons/{source.slug}/", source.lang)
        body = html[html.index('data-testid="lesson-body"') :]
        assert "math-source" not in body, path.name  # KaTeX ran for every formula
        assert "$" not in visible_text(body), path.name


def test_the_katex_stylesheet_and_its_fonts_are_served_from_static() -> None:
    css_path = finders.find("vendor/katex/katex.min.css")
    assert css_path, "run `make install` (copies KaTeX to static/vendor/katex)"
    css = Path(css_path).read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((fonts/[^)]+)\)", css))
    assert fonts
    for font in fonts:
        assert finders.find(f"vendor/katex/{font}"), font


# --- Widgets next to their paragraph -----------------------------------------------


def test_markers_cut_the_text_and_code_fences_are_left_alone() -> None:
    text = "A\n\n{{ widget: pooling }}\n\n```\n{{ widget: nope }}\n```\nB\n"
    assert split_at_widgets(text) == [
        ("A\n\n", "pooling"),
        ("\n```\n{{ widget: nope }}\n```\nB\n", ""),
    ]


def write_lesson(folder: Path, lang: str, body: str, widget: str = "pooling") -> None:
    (folder / f"01-demo.{lang}.md").write_text(
        f"---\ntitle: Demo\norder: 1\nwidget: {widget}\n---\n{body}", encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Goals {{ widget: pooling }} inline\n## A\n{{ widget: pooling }}\n", None),
        ("Goals\n\n{{ widget: pooling }}\n\n## A\nText\n", "must stand in the lesson"),
        ("Goals\n## A\n{{ widget: pooling }}\n{{ widget: pooling }}\n", "twice"),
        ("Goals\n## A\n{{ widget: Bad_Key }}\n", "not a plain name"),
        ("Goals\n## A\n{{ widget: output-size }}\n", "lesson's own 'pooling'"),
        ("Goals\n## A\nText\n## PyTorch code\n{{ widget: pooling }}\n", "code section"),
        ("Goals\n## A\n$$\nx\n", "never closed"),
    ],
)
def test_misplaced_markers_and_broken_formulas_stop_the_load(
    tmp_path: Path, body: str, message: str | None
) -> None:
    write_lesson(tmp_path, "en", body)
    if message is None:  # a marker inside a sentence is just text
        assert parse_lesson_file(tmp_path / "01-demo.en.md").markers == ("pooling",)
        return
    with pytest.raises(LessonFormatError, match=message):
        parse_lesson_file(tmp_path / "01-demo.en.md")


def test_languages_must_place_the_same_widgets(tmp_path: Path) -> None:
    write_lesson(tmp_path, "en", "Goals\n## A\nText\n{{ widget: pooling }}\n")
    write_lesson(tmp_path, "ko", "목표\n## 가\n본문\n")
    with pytest.raises(LessonFormatError, match="widget markers"):
        discover_lessons(tmp_path)


def test_every_placed_widget_is_registered() -> None:
    placed = {
        key
        for source in discover_lessons(LESSONS_DIR)
        for key in source.text("en").markers
    }
    assert len(placed) >= 6
    assert placed <= set(WIDGETS), placed - set(WIDGETS)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_nms_widget_follows_the_nms_section(client: Client, lang: str) -> None:
    load_lessons()
    html = page(client, "/lessons/object-detection/", lang)
    nms = html.index("<h2>NMS:")
    widget = html.index('data-widget="iou-nms"')
    exercise = html.index("<h2>" + ("Guided exercise" if lang == "en" else "따라 하는"))
    assert html.index('data-testid="lesson-body"') < nms < widget < exercise
    assert html.count('data-testid="lesson-widget"') == 1
    assert "{{ widget" not in html
    assert "js/widgets/iou-nms.js" in html  # its script and data routes come along
    for route in WIDGETS["iou-nms"].data_routes:  # its data routes come along
        assert reverse(route) in html, route


@pytest.mark.django_db
def test_a_lesson_can_place_two_widgets(client: Client) -> None:
    load_lessons()
    html = page(client, "/lessons/vision-tasks/")
    tasks = html.index('data-widget="vision-tasks"')
    nms = html.index('data-widget="iou-nms"')
    assert html.index("<h2>Four tasks") < tasks < html.index("<h2>One-stage") < nms
    assert html.count('data-testid="lesson-widget"') == 2
    assert 'id="widget"' in html and 'id="widget-iou-nms"' in html


@pytest.mark.django_db
def test_a_lesson_without_markers_keeps_its_widget_on_top(client: Client) -> None:
    load_lessons()
    html = page(client, "/lessons/pooling/")
    widget = html.index('data-testid="lesson-widget"')
    body = html.index('data-testid="lesson-body"')
    assert widget < body
    assert html.count('data-testid="lesson-widget"') == 1
    assert re.search(
        r'<article class="panel lesson-body" data-testid="lesson-body"', html
    )
    assert "lesson-part" not in html


# --- Diagrams ------------------------------------------------------------------------

IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>[^)\s]+)\)")
DIAGRAMS = REPO_DIR / "static" / "img" / "diagrams"


def test_every_lesson_image_exists_with_alt_text_in_its_language() -> None:
    seen = 0
    for path in sorted(LESSONS_DIR.glob("*.md")):
        lang = path.name.split(".")[-2]
        for image in IMAGE.finditer(path.read_text(encoding="utf-8")):
            src, alt = image["src"], image["alt"]
            assert src.startswith("/static/"), (path.name, src)
            assert finders.find(src.removeprefix("/static/")), (path.name, src)
            assert len(alt) > 40, (path.name, src)  # says what the picture shows
            if src.startswith("/static/img/diagrams/") and src.endswith(".svg"):
                assert src.endswith(f".{lang}.svg"), (path.name, src)
                seen += 1
    assert seen >= 6  # three diagrams, each in both languages


@pytest.mark.parametrize(
    "name", ["conv-sliding-window", "cnn-pipeline", "resnet-residual-block"]
)
def test_diagrams_are_plain_accessible_svg_in_both_languages(name: str) -> None:
    texts = {}
    for lang in ("en", "ko"):
        source = (DIAGRAMS / f"{name}.{lang}.svg").read_text(encoding="utf-8")
        root = ElementTree.fromstring(source)  # well-formed XML
        svg = "{http://www.w3.org/2000/svg}"
        assert root.tag == f"{svg}svg" and root.get("role") == "img"
        assert root.find(f"{svg}title") is not None
        assert root.find(f"{svg}desc") is not None
        for element in root.iter():  # nothing the CSP or a sanitiser would refuse
            assert element.tag not in {f"{svg}script", f"{svg}style"}
            assert "style" not in element.attrib
            assert not any(key.startswith("on") for key in element.attrib)
        texts[lang] = " ".join(t.text or "" for t in root.iter(f"{svg}text"))
    assert re.search("[가-힣]", texts["ko"]) and not re.search("[가-힣]", texts["en"])


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_resnet_lesson_shows_its_diagram_in_the_page_language(
    client: Client, lang: str
) -> None:
    load_lessons()
    html = page(client, "/lessons/classic-architectures/", lang)
    image = re.search(
        r'<img [^>]*src="/static/img/diagrams/resnet-residual-block\.(\w\w)\.svg"', html
    )
    assert image and image[1] == lang
    assert 'alt="' in image[0]


def write_pair(folder: Path, body_en: str, body_ko: str) -> None:
    for lang, body in (("en", body_en), ("ko", body_ko)):
        write_lesson(folder, lang, body)


@pytest.mark.django_db
def test_tex_that_katex_rejects_stops_the_load_naming_the_lesson(
    tmp_path: Path,
) -> None:
    write_pair(tmp_path, "Goals\n## A\n$x^2$\n", "목표\n## 가\n$\\frac{x$ 값\n")
    with pytest.raises(LessonFormatError, match=r"demo \(ko\).*frac"):
        load_lessons(directory=tmp_path)


@pytest.mark.django_db
def test_without_katex_the_formulas_show_as_tex_and_are_not_kept(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    write_pair(tmp_path, "Goals\n## A\nArea $a^2$.\n", "목표\n## 가\n넓이 $a^2$.\n")
    monkeypatch.setattr("demos.lessons.selectors.KATEX_DIR", tmp_path / "none")
    monkeypatch.setattr("demos.lessons.services.KATEX_DIR", tmp_path / "none")
    load_lessons(directory=tmp_path)  # a warning, not an error
    assert "not checked" in caplog.text
    html = page(client, "/lessons/demo/")
    assert '<code class="math-source">a^2</code>' in html
    monkeypatch.setattr("demos.lessons.selectors.KATEX_DIR", KATEX_DIR)
    html = page(client, "/lessons/demo/")  # KaTeX back: typeset at once
    assert 'class="katex"' in html and "math-source" not in html
