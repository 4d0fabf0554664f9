"""Where the small models the project trains itself are committed (``weights/``).

Imports nothing heavy: the URLconf and management commands read these paths
without loading torch.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
