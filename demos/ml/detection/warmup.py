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
import time

import numpy as np

from demos.ml.detection.detectors import default_detector_key, get_detector

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_state: dict[str, object] = {"state": "cold", "detector": None}


def warmth() -> dict[str, object]:
    """``{"state": "cold" | "warming" | "warm" | "failed", "detector": key, ...}``."""
    with _lock:
        return dict(_state)


def _set(**values: object) -> None:
    with _lock:
        _state.update(values)


def warm_default_detector() -> None:
    """Build the default detector and run it once (blocking); never raises."""
    key = default_detector_key()
    _set(state="warming", detector=key, error="")
    started = time.perf_counter()
    try:
        get_detector(key).detect(np.zeros((240, 320, 3), np.uint8), 0.5)
    except Exception as exc:  # a missing file must not kill the worker
        logger.warning("warming %s failed: %s", key, exc)
        _set(state="failed", error=str(exc))
        return
    seconds = round(time.perf_counter() - started, 3)
    logger.info("%s is warm after %.2f s", key, seconds)
    _set(state="warm", seconds=seconds)


def note_detection(key: str) -> None:
    """A request ran ``key``: if it is the default, this process is warm now too."""
    with _lock:
        if _state.get("state") != "warm" and key == default_detector_key():
            _state.update(state="warm", detector=key)


def start_warming() -> threading.Thread:
    """Warm the default detector on a daemon thread; returns the thread."""
    thread = threading.Thread(
        target=warm_default_detector, name="warm-detector", daemon=True
    )
    thread.start()
    return thread
