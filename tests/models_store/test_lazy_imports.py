"""torch, torchvision, onnx and onnxruntime load only when a model is first used.

Each check runs in a fresh interpreter: loading the URLconf (every view, API and
template tag module it reaches) or running ``manage.py check`` must import none of
them, so a web process that never runs a torch model never pays for torch.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_DIR

HEAVY = ("torch", "torchvision", "onnxruntime", "onnx")
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_DIR,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_loading_the_urlconf_imports_no_model_runtime() -> None:
    code = f"""
import sys
import django
django.setup()
import portal.urls
from django.urls import resolve, reverse
paths = [
    "/",
    "/lessons/",
    "/lessons/feature-maps/",
    "/api/v1/cnn-models/",
    "/api/v1/feature-maps/",
    "/api/v1/architectures/",
    reverse("api:arch-model-list"),
]
for path in paths:
    resolve(path)
print(sorted(name for name in {HEAVY!r} if name in sys.modules))
"""
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_manage_py_check_imports_no_model_runtime() -> None:
    result = run_python("-X", "importtime", "manage.py", "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "django" in imported  # the import-time report was read
    assert sorted(imported & set(HEAVY)) == []
