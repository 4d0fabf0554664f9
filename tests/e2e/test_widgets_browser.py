"""Every data-driven lesson widget loads its JSON from /api/v1/ through the shared
kit (static/js/widget-kit.js) and draws it, with no script error or CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# (lesson slug, what the widget draws from its data, how many)
DRAWN = [
    ("activation-batchnorm-dropout", "[data-testid=activations-stages] li", 7),
    ("autoencoders-tsne", "[data-testid=ae-reconstructions] canvas", 40),
    ("classic-architectures", ".arch-compare tbody tr", 6),
    ("transfer-learning", ".transfer-option", 3),
    ("data-augmentation", ".augment-tiles li", 8),
]


def collect_errors(page) -> list[str]:
    """Uncaught exceptions and console errors (CSP violations are console errors)."""
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on(
        "console", lambda msg: found.append(msg.text) if msg.type == "error" else None
    )
    return found


@pytest.mark.parametrize(("slug", "drawn", "count"), DRAWN)
def test_a_visitor_sees_the_widget_drawn_from_its_api_data(
    browser_page, live_url: str, course: None, slug: str, drawn: str, count: int
) -> None:
    errors = collect_errors(browser_page)
    browser_page.goto(f"{live_url}/lessons/{slug}/")
    expect(browser_page.locator(drawn)).to_have_count(count, timeout=60_000)
    assert errors == []


def test_a_student_sees_feature_maps_of_a_sample(
    logged_in_page, live_url: str, course: None
) -> None:
    errors = collect_errors(logged_in_page)
    logged_in_page.goto(f"{live_url}/lessons/feature-maps/")
    expect(logged_in_page.locator("[data-role=channels] li").first).to_be_visible(
        timeout=60_000
    )
    assert logged_in_page.locator("[data-role=layer] option").count() > 0
    assert errors == []
