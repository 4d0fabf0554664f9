"""The residual-block and bottleneck diagrams of lesson 7 in Korean: the Korean page
shows ``*.ko.svg`` copies whose labels follow the glossary (합성곱, 배치 정규화, 스킵
연결, 파라미터), so no English label ("skip connection: identity x", "conv", "BN")
reaches the Korean page; the English page keeps the English drawings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from demos.lessons.services import load_lessons
from tests.conftest import REPO_DIR

DIAGRAMS = REPO_DIR / "static" / "img" / "diagrams"
KOREAN = ["residual-block.ko.svg", "bottleneck.ko.svg"]
SVG_TEXT = re.compile(r"<(text|title|desc)[^>]*>([^<]*)</\1>")
# What may stay in Latin letters: math, the activation's name, the network's name.
ALLOWED_WORDS = {"x", "F", "ReLU", "ResNet", "ResNet50"}


def labels(path: Path) -> list[str]:
    return [text for _, text in SVG_TEXT.findall(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("name", KOREAN)
def test_korean_diagrams_have_no_english_labels(name: str) -> None:
    english = labels(DIAGRAMS / name.replace(".ko.svg", ".svg"))
    korean = labels(DIAGRAMS / name)
    assert len(korean) == len(english)  # the same drawing, relabelled
    words = {w for text in korean for w in re.findall(r"[A-Za-z]+", text)}
    assert words <= ALLOWED_WORDS, words - ALLOWED_WORDS
    assert any("스킵 연결" in text for text in korean)
    assert any("skip connection" in text for text in english)
    svg = (DIAGRAMS / name).read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "suffix"), [("ko", ".ko.svg"), ("en", ".svg")], ids=["ko", "en"]
)
def test_the_lesson_page_shows_the_diagrams_in_its_language(
    client: Client, lang: str, suffix: str
) -> None:
    load_lessons()
    html = client.get(
        "/lessons/classic-architectures/", HTTP_ACCEPT_LANGUAGE=lang
    ).content.decode()
    for name in ("residual-block", "bottleneck"):
        assert f"/static/img/diagrams/{name}{suffix}" in html
    if lang == "en":
        assert ".ko.svg" not in html
