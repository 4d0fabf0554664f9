"""Pure modules import without Django (STYLE.md): each in a fresh interpreter.

They take arrays, paths and dataclasses, so scripts, notebooks and the benchmarks can
use them without settings; importing Django by accident would break that quietly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PURE_MODULES = [
    "demos.common.imaging",
    "demos.ml.detection.core",
    "demos.ml.detection.counting",
    "demos.ml.detection.agreement",
    "demos.ml.detection.tiling",
    "demos.ml.detection.resize",
    "demos.lessons.loading",
    "demos.ml.playgrounds",
    "demos.lessons.quizzes",
    "demos.lessons.exercise",
    "demos.ml.feature_maps",
    "demos.ml.digits",
    "demos.ml.sequences",
    "demos.ml.training",
    "demos.ml.profiling",
    "demos.ml.augmentation",
    "models_store.registry",
    "models_store.download",
    "models_store.tracing",
    "portal.lib.numbers",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_without_django(module: str) -> None:
    code = f"import sys, {module}; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
