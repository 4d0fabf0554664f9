"""Load the default person detector in the background when a server process starts.

``start_warming()`` is called by gunicorn's ``post_worker_init`` hook
(``gunicorn.conf.py``) when ``PORTAL_WARM_DETECTOR`` is on, never from
``AppConfig.ready()``: ``migrate``, management commands and tests load nothing. The
thread builds the detector through the one loader (so a request arriving meanwhile
waits on the loader's lock instead of building it twice) and runs it once on a small
blank photo, which pays onnxruntime's first-run allocations. ``warmth()`` is what
``/healthz`` reports.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from demos.ml.detection.detectors import default_detector_key, get_detector
from demos.ml.warmth import Warmth

_state: dict[str, object] = {"state": "cold", "detector": None}
_warmth = Warmth(lambda: _state, logging.getLogger(__name__))


def warmth() -> dict[str, object]:
    """``{"state": "cold" | "warming" | "warm" | "failed", "detector": key, ...}``."""
    return _warmth.read()


def warm_default_detector() -> None:
    """Build the default detector and run it once (blocking); never raises."""
    key = default_detector_key()
    blank = np.zeros((240, 320, 3), np.uint8)
    _warmth.warm(key, lambda: get_detector(key).detect(blank, 0.5), detector=key)


def note_detection(key: str) -> None:
    """A request ran ``key``: if it is the default, this process is warm now too."""
    _warmth.note_use(lambda: key == default_detector_key(), detector=key)


def start_warming() -> threading.Thread:
    """Warm the default detector on a daemon thread; returns the thread."""
    thread = threading.Thread(
        target=warm_default_detector, name="warm-detector", daemon=True
    )
    thread.start()
    return thread
