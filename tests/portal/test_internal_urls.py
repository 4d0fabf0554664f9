"""Templates and scripts build internal URLs with {% url %} / data-* attributes.

A path typed into a template or a script breaks silently when a route moves; the
route names are the contract. Static files are exempt (``{% static %}`` renders
them), and so is ``500.html``: it renders without any context on purpose, so that a
broken URLconf cannot break the error page too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = {"templates/500.html"}
HARD_CODED = re.compile(
    r"""(?:href|action|src|formaction)\s*=\s*["'](/(?!static/)[^"']*)"""
    r"""|fetch\(\s*["'`](/[^"'`]*)"""
    r"""|["'`](/(?:api|lessons|demos|accounts|admin|i18n)/[^"'`]*)"""
)
FILES = sorted(
    path.relative_to(ROOT).as_posix()
    for pattern in ("templates/**/*.html", "static/js/**/*.js")
    for path in ROOT.glob(pattern)
    if "/vendor/" not in path.as_posix()
)


def hard_coded_urls(text: str) -> list[str]:
    return [
        next(group for group in match.groups() if group)
        for match in HARD_CODED.finditer(text)
    ]


def test_the_scan_finds_typed_paths_and_ignores_url_tags() -> None:
    assert hard_coded_urls('<a href="/lessons/">') == ["/lessons/"]
    assert hard_coded_urls("<a href='/'>") == ["/"]
    assert hard_coded_urls('fetch("/x/y")') == ["/x/y"]
    assert hard_coded_urls("link.href = `/demos/people/?sample=${s}`;") == [
        "/demos/people/?sample=${s}"
    ]
    assert hard_coded_urls('<form action="/api/v1/x/">') == ["/api/v1/x/"]
    assert hard_coded_urls("<a href=\"{% url 'lessons:list' %}\">") == []
    assert hard_coded_urls('<link href="/static/css/portal.css">') == []
    assert hard_coded_urls('<img src="{{ sample.url }}">') == []


@pytest.mark.parametrize("name", [name for name in FILES if name not in EXEMPT])
def test_no_internal_url_is_typed_in(name: str) -> None:
    assert hard_coded_urls((ROOT / name).read_text(encoding="utf-8")) == []


def test_the_scan_covers_the_templates_and_the_widget_scripts() -> None:
    assert "templates/base.html" in FILES
    assert "static/js/widgets/iou-nms.js" in FILES
    assert "static/js/widget-kit.js" in FILES
