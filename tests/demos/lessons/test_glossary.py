"""One Korean vocabulary: the glossary's "쓰지 않는 말" table is the rule, and no
lesson body nor Korean UI string breaks it.

The table (``content/glossary/GLOSSARY.ko.md``, section "쓰지 않는 말") lists every
banned form next to the word to use instead; this test reads it, so a new rule is one
new row. Only text a student reads is checked: code fences, inline code, HTML
comments, link targets and placeholders are removed first, and an English word in
parentheses right after Korean (``스트라이드(stride)``: the glossary's first-mention
style) is allowed. Korean ``msgstr`` entries must also not be English sentences.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO_DIR

CONTENT_DIR = REPO_DIR / "demos" / "lessons" / "content"
GLOSSARY = CONTENT_DIR / "glossary" / "GLOSSARY.ko.md"
FRAGMENTS_DIR = REPO_DIR / "locale" / "fragments"
BANNED_SECTION = "## 쓰지 않는 말"

HANGUL = re.compile(r"[가-힣]")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
LINK_TARGET = re.compile(r"\]\([^)\s]*\)")
HTML_TAG = re.compile(r"<[^>]+>")
PLACEHOLDER = re.compile(r"%\(\w+\)[srd]|%[sd]|\{\w*\}")
# ``crop.shape``, ``model.eval()``: code written without backticks in a UI string.
DOTTED_NAME = re.compile(r"\b\w+(?:\.\w+)+(?:\(\))?")
# An English gloss right after Korean: 스트라이드(stride), 병목(bottleneck block).
ENGLISH_GLOSS = re.compile(r"(?<=[가-힣*])\s?\([A-Za-z][A-Za-z0-9 ,.'/&-]*\)")
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,]+[A-Za-z][A-Za-z'-]*){3,}")


def banned_forms() -> list[tuple[str, str]]:
    """``(banned, instead)`` rows of the glossary's "쓰지 않는 말" table."""
    text = GLOSSARY.read_text(encoding="utf-8")
    section = text.split(BANNED_SECTION, 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] and not set(cells[0]) <= {"-", " "}:
            rows.append((cells[0].strip("`"), cells[1]))
    return rows[1:]  # the first row is the header


def visible_text(markdown: str) -> str:
    """What a student reads of a lesson body: no code, comments or link targets."""
    text = FENCE.sub(" ", markdown)
    text = HTML_COMMENT.sub(" ", text)
    text = INLINE_CODE.sub(" ", text)
    text = LINK_TARGET.sub("]", text)
    return ENGLISH_GLOSS.sub(" ", text)


def _unquote(line: str) -> str:
    return line.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n")


def korean_msgstrs(path: Path) -> list[tuple[str, str]]:
    """``(msgid, msgstr)`` pairs of one ``.po`` file (plural forms included)."""
    pairs: list[tuple[str, str]] = []
    msgid, msgstr, section = "", "", ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        stripped = line.strip()
        if stripped.startswith("msgid "):
            if section == "msgstr":
                pairs.append((msgid, msgstr))
            msgid, msgstr, section = _unquote(stripped[6:]), "", "msgid"
        elif stripped.startswith("msgid_plural "):
            section = "msgid_plural"
        elif stripped.startswith("msgstr"):
            if section == "msgstr":
                msgstr += "\n"  # a second plural form
            msgstr += _unquote(stripped.split(" ", 1)[1])
            section = "msgstr"
        elif stripped.startswith('"'):
            if section == "msgid":
                msgid += _unquote(stripped)
            elif section == "msgstr":
                msgstr += _unquote(stripped)
        elif not stripped and section == "msgstr":
            pairs.append((msgid, msgstr))
            section = ""
    return [(mid, text) for mid, text in pairs if mid]


def ui_text(msgstr: str) -> str:
    text = HTML_TAG.sub(" ", msgstr)
    text = PLACEHOLDER.sub(" ", text)
    text = DOTTED_NAME.sub(" ", text)
    return ENGLISH_GLOSS.sub(" ", text)


def _contains(text: str, banned: str) -> bool:
    if re.fullmatch(r"[A-Za-z]+", banned):  # an English word: whole words, as written
        # (so the class name ``Bottleneck`` passes where the word "bottleneck" fails)
        return re.search(rf"\b{banned}\b", text) is not None
    return banned in text


LESSONS = sorted(CONTENT_DIR.glob("*.ko.md"))
QUIZZES = sorted((CONTENT_DIR / "quizzes").glob("*.json"))
QUIZ_CODE = re.compile(r"`[^`]*`")  # quiz code may span lines
FRAGMENTS = sorted(FRAGMENTS_DIR.glob("*.ko.po"))


def test_the_glossary_bans_the_forms_the_review_found() -> None:
    banned = dict(banned_forms())
    for form in ("특성", "레이어", "스테이지", "곱셈-덧셈", "라벨", "랜덤", "shape"):
        assert form in banned, form
    # Calques of English idioms found in the Korean lesson bodies and quizzes
    # ("cheap to compute", "fights overfitting", "a classic bug", "for free", "the
    # label stays true", "chooses to forget", ...), rewritten in natural Korean.
    calques = (
        "머릿속에 통째로", "약속하는 것", "계산이 싸", "과적합과 싸", "튼튼한 특징",
        "고전적인 버그", "앞에서 조용", "결과를 보고한다", "밝게 빛나는", "공짜",
        "참으로 유지", "여전히 참", "거짓으로 만", "쪽으로 흘러갑", "이야기가 달라",
        "안전한 평균을 선호", "이미지에 점수를 줍", "제대로 가지도 못하고",
        "잊기로 선택", "때만 통합니다", "크게 치도록", "군중이 어렵", "비밀스러운 부분",
    )  # fmt: skip
    for form in calques:
        assert form in banned, form
    assert all(instead for instead in banned.values())


def test_visible_text_drops_code_and_first_mention_glosses() -> None:
    body = "**스트라이드(stride)** `x.shape`\n```python\nlayer = 1\n```\n[데모](/a/)"
    text = visible_text(body)
    assert "stride" not in text and "shape" not in text and "layer" not in text
    assert "/a/" not in text and "스트라이드" in text


def test_po_reader_joins_continuation_lines() -> None:
    pairs = korean_msgstrs(FRAGMENTS_DIR / "issue12.ko.po")
    texts = [text for _, text in pairs if text.startswith("상하 반전은")]
    assert texts and "모양이 됩니다" in texts[0]


@pytest.mark.parametrize("path", LESSONS, ids=lambda path: path.name)
def test_lesson_bodies_use_the_glossary(path: Path) -> None:
    text = visible_text(path.read_text(encoding="utf-8"))
    found = [
        f"{banned!r} -> {instead}"
        for banned, instead in banned_forms()
        if _contains(text, banned)
    ]
    assert not found, f"{path.name}: {found}"


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda path: path.name)
def test_korean_ui_strings_use_the_glossary(path: Path) -> None:
    found = [
        f"{banned!r} in {msgstr[:60]!r} -> {instead}"
        for _, msgstr in korean_msgstrs(path)
        for banned, instead in banned_forms()
        if _contains(ui_text(msgstr), banned)
    ]
    assert not found, f"{path.name}: {found}"


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda path: path.name)
def test_korean_ui_strings_are_not_english_sentences(path: Path) -> None:
    english = [
        msgstr[:80]
        for _, msgstr in korean_msgstrs(path)
        if msgstr.strip()
        and not HANGUL.search(msgstr)
        and ENGLISH_RUN.search(ui_text(msgstr))
    ]
    assert not english, f"{path.name}: {english}"


@pytest.mark.parametrize("path", FRAGMENTS, ids=lambda path: path.name)
def test_korean_ui_strings_keep_their_placeholders(path: Path) -> None:
    broken = [
        msgid[:60]
        for msgid, msgstr in korean_msgstrs(path)
        if msgstr.strip()
        and sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(msgstr))
        and "\n" not in msgstr  # plural forms may drop the count
    ]
    assert not broken, f"{path.name}: {broken}"


def _korean_texts(node: object) -> list[str]:
    if isinstance(node, dict):
        return [
            text
            for key, value in node.items()
            for text in ([value] if key == "ko" and isinstance(value, str) else [])
            + ([] if key == "ko" else _korean_texts(value))
        ]
    if isinstance(node, list):
        return [text for item in node for text in _korean_texts(item)]
    return []


@pytest.mark.parametrize("path", QUIZZES, ids=lambda path: path.name)
def test_korean_quiz_texts_use_the_glossary(path: Path) -> None:
    found = [
        f"{banned!r} in {text[:60]!r} -> {instead}"
        for text in _korean_texts(json.loads(path.read_text(encoding="utf-8")))
        for banned, instead in banned_forms()
        if _contains(ENGLISH_GLOSS.sub(" ", QUIZ_CODE.sub(" ", text)), banned)
    ]
    assert not found, f"{path.name}: {found}"
