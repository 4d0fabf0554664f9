"""gunicorn settings from the machine: `gunicorn -c gunicorn.conf.py` (as `make run`).

It serves ``portal.asgi`` with gunicorn's asyncio worker (``portal.server.Worker``):
a class server is reached over the network, and with ``gthread`` workers 50
connections sending a byte a second held every thread, so a class of 30 got no page
for a minute. The event loop reads requests (a slow one costs a coroutine, dropped
after the header and body deadlines in ``portal/server.py``); Django gets complete
requests only. Detection is CPU-bound and each worker process loads its own models,
so workers follow the cores and torch/onnxruntime get one thread each per worker;
``GUNICORN_THREADS`` requests run Django at once per worker (``portal/asgi.py``), so
file downloads and page views keep flowing while one request runs a model. Every
value can be overridden with GUNICORN_* / PORTAL_* variables. ``portal.wsgi`` is
for WSGI hosts; with this file it needs ``GUNICORN_WORKER_CLASS=gthread``.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from pathlib import Path
from typing import Any

cores = multiprocessing.cpu_count()
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", max(2, cores)))
wsgi_app = "portal.asgi:application"
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "portal.server.Worker")
if worker_class == "gthread":
    threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Connections per worker, slow ones included; over it a connection gets a 503.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))
# Django serves http only; gunicorn's lifespan probe would log a failure.
asgi_lifespan = "off"
# A crowd photo through a large detector can take a while on a CPU.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
graceful_timeout = 30
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# gunicorn 27 opens a control socket, by default ~/.gunicorn/gunicorn.ctl: one path
# for every gunicorn of the user, so a second portal (or a benchmark) takes it over
# and deletes it on exit. Each portal gets its own under var/run/, named by its bind
# address; GUNICORN_CONTROL_SOCKET names another path, or "off" turns it off.
_var_dir = Path(os.environ.get("PORTAL_VAR_DIR") or Path(__file__).parent / "var")
_control = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
_bind_name = re.sub(r"[^\w.-]", "_", bind)
_own_socket = _var_dir.resolve() / "run" / f"gunicorn-{_bind_name}.ctl"
control_socket = _control or str(_own_socket)
# A Unix socket's path holds at most 107 bytes; a longer one could not be bound.
control_socket_disable = (
    _control.lower() in {"off", "0", "false", "no"}
    or len(control_socket.encode()) > 100
)
# Workers fork from a master that has loaded Django and the URLconf (when_ready):
# gunicorn kills the old workers as soon as it has forked new ones (HUP, and each
# max_requests restart), so a worker that had to import the portal itself (2-9 s
# on a busy 2-core machine) left the site unanswered meanwhile. Preloaded, a new
# worker answers within milliseconds. The price: a HUP keeps the loaded code; a
# code update is a restart (docs/deploy.md). GUNICORN_PRELOAD=false turns it off.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").strip().lower() not in {
    "0",
    "false",
    "no",
    "off",
}
accesslog = "-"
errorlog = "-"
raw_env = [f"PORTAL_TORCH_THREADS={os.environ.get('PORTAL_TORCH_THREADS', '1')}"]
os.environ.setdefault("PORTAL_TORCH_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", os.environ["PORTAL_TORCH_THREADS"])


def on_starting(server: Any) -> None:
    """A WSGI entry (``portal.wsgi``) on the asyncio worker, or the ASGI entry on
    gthread, would fail on every request: refuse to start, saying why."""
    uri = str(getattr(server.app, "app_uri", "") or "")
    asyncio_worker = worker_class != "gthread"
    if asyncio_worker == ("wsgi" in uri):
        raise SystemExit(
            f"gunicorn.conf.py: {uri} does not fit worker class {worker_class}. "
            "Run `gunicorn -c gunicorn.conf.py` (portal.asgi), or "
            "`GUNICORN_WORKER_CLASS=gthread gunicorn portal.wsgi -c gunicorn.conf.py`."
        )


def when_ready(server: object) -> None:
    """With preload_app: build the URLconf (every view module) and the catalogs in
    the master, so forked workers share them and answer at once; no connection
    opened here may be inherited by the workers."""
    if not preload_app:
        return
    from django.conf import settings
    from django.db import connections
    from django.urls import get_resolver
    from django.utils import translation

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    for code in ("ko", "en"):
        with translation.override(code):
            translation.gettext("Log in")
    if getattr(settings, "WARM_CNN", True):
        # The feature-map lesson's CNN on ONNX Runtime (no torch), built once here:
        # workers inherit it and the first student's maps wait for nothing.
        from demos.ml import cnn_warmup

        cnn_warmup.warm_before_fork()
    if getattr(settings, "WARM_DETECTOR", True) and _runs_without_torch():
        # Likewise the default person detector when it is ONNX/OpenCV only: a new
        # worker then spends its first seconds on requests, not on building it.
        from demos.ml.detection import warmup

        warmup.warm_default_detector()
    connections.close_all()


def _runs_without_torch() -> bool:
    """Whether the default person detector and its parts are ONNX or OpenCV (never
    torch in the master: forking after torch has started threads is unsafe)."""
    from demos.ml.detection.detectors import default_detector_key
    from models_store.registry import get_spec

    spec = get_spec(default_detector_key())
    parts = [get_spec(key) for key in spec.parts] if spec.is_fusion else [spec]
    return all(part.family in ("onnx", "opencv") for part in parts)


def post_worker_init(worker: object) -> None:
    """Load the default person detector and (unless the master already did) the
    feature-map lesson's ImageNet CNN in the background, so the first student waits
    for neither
    (PORTAL_WARM_DETECTOR=false / PORTAL_WARM_CNN=false turn them off)."""
    from django.conf import settings

    if getattr(settings, "WARM_DETECTOR", True):
        from demos.ml.detection import warmup

        if warmup.warmth()["state"] != "warm":  # not inherited from the master
            warmup.start_warming()
    if getattr(settings, "WARM_CNN", True):
        from demos.ml import cnn_warmup

        if cnn_warmup.warmth()["state"] != "warm":  # not inherited from the master
            cnn_warmup.start_warming()
