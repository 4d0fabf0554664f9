"""Every form that carries a CSRF token posts it (issue 21, finding 8).

A ``<form>`` without ``method`` is a GET form: when JavaScript does not load, the
browser submits it as a URL with ``csrfmiddlewaretoken=...`` in the query string,
where logs, history and Referer headers keep it.
"""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.DOTALL | re.IGNORECASE)


def forms_with_a_token() -> list[tuple[str, str]]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for attributes, body in FORM.findall(path.read_text(encoding="utf-8")):
            if "csrf_token" in body:
                found.append((path.relative_to(TEMPLATES).as_posix(), attributes))
    return found


def test_forms_with_a_csrf_token_use_post() -> None:
    forms = forms_with_a_token()
    assert len(forms) >= 10
    get_forms = [
        name
        for name, attributes in forms
        if not re.search(r'method="post"', attributes, re.IGNORECASE)
    ]
    assert get_forms == []
