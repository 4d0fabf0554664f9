"""A developer opens the API docs: Swagger UI renders under the strict CSP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_swagger_ui_lists_the_operations_without_csp_violations(
    browser_page, live_url, transactional_db
) -> None:
    page = browser_page
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda exc: messages.append(f"pageerror: {exc}"))

    response = page.goto(f"{live_url}/api/docs/")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]

    operation = page.locator(
        ".opblock-summary-path[data-path='/api/v1/detections/']"
    ).first
    operation.wait_for()
    assert operation.is_visible()
    assert page.locator(".opblock").count() > 1
    page.wait_for_load_state("networkidle")

    assert not [m for m in messages if "Content Security Policy" in m], messages
    assert not [m for m in messages if m.startswith("pageerror")], messages
