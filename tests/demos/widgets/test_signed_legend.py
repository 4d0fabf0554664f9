"""Signed values: one colour code, one legend in the kernel and activation widgets."""

from __future__ import annotations

from pathlib import Path

import pytest

from demos.lessons.services import load_lessons

pytestmark = pytest.mark.django_db

CSS = Path(__file__).resolve().parents[3] / "static/css/lessons.css"


@pytest.mark.parametrize(
    "path", ["/lessons/convolution/", "/lessons/activation-batchnorm-dropout/"]
)
def test_widget_shows_the_shared_signed_legend(client, path) -> None:
    load_lessons()
    html = client.get(path, HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert html.count('data-testid="signed-legend"') == 1
    assert "음수" in html and "양수" in html


def test_kernel_cells_use_the_legend_colours() -> None:
    css = CSS.read_text()
    # Negative blue, positive red: the same as feature_maps.signed_image.
    assert ".kernel-grid td.neg { background: #dbe4ff" in css
    assert ".kernel-grid td.pos { background: #ffe3e3" in css
