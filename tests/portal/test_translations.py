"""The Korean catalog translates every message: no empty or guessed (fuzzy) entries."""

from __future__ import annotations

import re
from pathlib import Path

CATALOG = Path(__file__).resolve().parents[2] / "locale/ko/LC_MESSAGES/django.po"


def entries() -> list[str]:
    blocks = CATALOG.read_text(encoding="utf-8").split("\n\n")
    return [b for b in blocks[1:] if "msgid" in b and not b.startswith("#~")]


def test_no_korean_translation_is_a_fuzzy_guess() -> None:
    fuzzy = [b for b in entries() if re.search(r"^#, .*fuzzy", b, re.M)]
    assert fuzzy == []


def test_every_message_has_a_korean_translation() -> None:
    missing = [b for b in entries() if re.search(r'^msgstr ""\Z', b, re.M)]
    assert missing == []


def test_compiled_catalog_holds_the_korean_texts() -> None:
    compiled = CATALOG.with_suffix(".mo")
    assert compiled.stat().st_size > 10_000
    assert compiled.read_bytes().count("찾은 사람 수".encode()) == 1
