"""The new model modules import without Django (STYLE.md), in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "module",
    [
        "demos.ml.imagenet",
        "demos.ml.backbones",
        "demos.ml.transfer",
        "demos.ml.receptive_field",
        "demos.ml.explainer",
    ],
)
def test_module_imports_without_django(module: str) -> None:
    code = f"import sys, {module}; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
