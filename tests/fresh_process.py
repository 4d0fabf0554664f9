"""Run a few lines of Python in a new process with the portal's test settings:
what a freshly started web worker would import, away from this test process
(which has long imported torch)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_in_fresh_process(code: str, *, cache_dir: Path, **env: str) -> str:
    """Run ``code`` (it calls ``django.setup()`` itself) and return its last
    printed line; fails the test with the process's stderr if it fails."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PATH": "/usr/bin:/bin",
            "PORTAL_FEATURE_MAP_CACHE_DIR": str(cache_dir),
            **env,
        },
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]
