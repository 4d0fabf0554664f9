"""Every widget script boots through the widget kit's WidgetKit.mount, nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPTS = sorted((ROOT / "static/js/widgets").glob("*.js"))
TEMPLATES = sorted((ROOT / "templates/demos/widgets").glob("*.html"))
MOUNT = re.compile(r'\bmount\("([\w-]+)", ')
# Ways of finding the widget or waiting for the page that bypass the kit.
OTHER_BOOTS = (
    "document.querySelector",
    "document.getElementById",
    "document.getElementsBy",
    "DOMContentLoaded",
    "readyState",
    "window.onload",
    'window.addEventListener("load"',
)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_widget_script_boots_only_through_mount(path: Path) -> None:
    script = path.read_text()
    assert "} = window.WidgetKit;" in script and MOUNT.search(script)
    for boot in OTHER_BOOTS:
        assert boot not in script, f"{path.name} boots with {boot}"


def test_every_widget_in_the_templates_is_mounted_by_a_script() -> None:
    in_templates = {
        key
        for path in TEMPLATES
        for key in re.findall(r'data-widget="([\w-]+)"', path.read_text())
    }
    mounted = [key for path in SCRIPTS for key in MOUNT.findall(path.read_text())]
    assert len(mounted) == len(set(mounted))
    assert set(mounted) == in_templates
    assert len(SCRIPTS) == 18
