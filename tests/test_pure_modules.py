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
# Every module of demos/ml/ is pure except the two loader facades, which read the
# torch-device setting and translate "unavailable" messages for the page.
ML_GLUE = {
    "demos.ml.networks",
    "demos.ml.detection.detectors",
    "demos.ml.detection.warmup",
}
ML_MODULES = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for path in (REPO / "demos" / "ml").rglob("*.py")
    if path.name != "__init__.py"
)
PURE_MODULES = [
    "demos.common.imaging",
    "demos.common.atomic",
    "demos.common.disk_cache",
    "demos.lessons.loading",
    "demos.lessons.formulas",
    "demos.lessons.quizzes",
    "demos.lessons.exercise",
    *(module for module in ML_MODULES if module not in ML_GLUE),
    "demos.lessons.code_checks",
    "demos.lessons.raw_boxes",
    "demos.lessons.exercise_steps",
    "models_store.registry",
    "models_store.download",
    "models_store.sessions",
    "models_store.tracing",
    "portal.lib.numbers",
    "portal.lib.errors",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_without_django(module: str) -> None:
    code = f"import sys, {module}; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
