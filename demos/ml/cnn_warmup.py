"""Load the feature-map lesson's ImageNet CNN in the background when a server
process starts, so the first student's maps do not wait for it.

Like ``demos.ml.detection.warmup`` (the person detector): ``start_warming()`` is
called by gunicorn's ``post_worker_init`` hook (``gunicorn.conf.py``) when
``PORTAL_WARM_CNN`` is on, never from ``AppConfig.ready()``. The thread builds the
default network through the one loader (weights hashed, then the ONNX Runtime
session of the exported graph — a fraction of a second, no torch — or, without an
export, torch's model and its traced feature extractor; all under the loader's
lock, so a request arriving meanwhile waits instead of building it twice), then
runs one forward pass and one Grad-CAM on a grey photo (first-run allocations).
``warmth()`` is what ``/healthz`` reports as ``feature_map_cnn``.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

from demos.ml.warmth import Warmth

_state: dict[str, object] = {"state": "cold", "model": None}
_warmth = Warmth(lambda: _state, logging.getLogger(__name__))


def warmth() -> dict[str, object]:
    """``{"state": "cold" | "warming" | "warm" | "failed", "model": key, ...}``."""
    return _warmth.read()


def warm_feature_map_cnn() -> None:
    """Build the lesson's default CNN and run it once (blocking); never raises."""
    from demos.ml import networks

    key = networks.DEFAULT_MODEL

    def build_and_run() -> None:
        model = networks.get_cnn_model(key)
        grey = np.full((224, 224, 3), 127, np.uint8)
        model.run(grey)
        explain = getattr(model, "explain", None)
        if explain is not None:
            explain(grey)

    _warmth.warm(key, build_and_run, model=key)


def warm_before_fork() -> bool:
    """Warm the lesson's CNN in gunicorn's master (``preload_app``) when it runs on
    ONNX Runtime: every worker forked afterwards inherits the built session (its
    weights shared copy-on-write) and answers the first student at once, with no
    warm-up of its own. Never torch in the master (fork after torch's threads is
    unsafe): without an intact ONNX export this does nothing and returns False."""
    from django.conf import settings

    from demos.ml import efficientnet_onnx, networks

    if not getattr(settings, "CNN_ONNX", True):
        return False
    try:
        networks.efficientnet_onnx_files()
    except efficientnet_onnx.ExportMissing:
        return False
    warm_feature_map_cnn()
    _warmth.set(where="master")
    return warmth()["state"] == "warm"


def start_warming() -> threading.Thread:
    """Warm the lesson's CNN on a daemon thread; returns the thread."""
    thread = threading.Thread(target=warm_feature_map_cnn, name="warm-cnn", daemon=True)
    thread.start()
    return thread
