"""What a server process knows about warming one model off the request path: a
state dict behind a lock, written by the warm-up thread (and by requests that ran
the model first), read by ``/healthz``.

The dict is ``{"state": "cold" | "warming" | "warm" | "failed", <the model's
key>, "seconds", "error", ...}``: ``demos.ml.detection.warmup`` (the person
detector) and ``demos.ml.cnn_warmup`` (the feature-map lesson's CNN) each keep one
as their ``_state`` and a ``Warmth`` over it. Imports nothing from Django.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

State = dict[str, object]


class Warmth:
    """One warm-up's state (``state()``, looked up at each use, so the owning
    module's ``_state`` can be replaced, as the tests do), the lock around it and
    the timing of the warm-up itself, logged on ``logger``."""

    def __init__(self, state: Callable[[], State], logger: logging.Logger) -> None:
        self._state = state
        self._logger = logger
        self._lock = threading.Lock()

    def read(self) -> State:
        """A copy of the state, safe to hand to another thread (``/healthz``)."""
        with self._lock:
            return dict(self._state())

    def set(self, **values: object) -> None:
        with self._lock:
            self._state().update(values)

    def warm(self, name: str, work: Callable[[], object], **values: object) -> None:
        """Run ``work`` (build the model, run it once) and time it: the state goes
        warming (with ``values``) → warm (with ``seconds``), or → failed (with
        ``error``). Blocking; never raises: a missing file or wheel is reported,
        it must not kill the worker."""
        self.set(state="warming", **values, error="")
        started = time.perf_counter()
        try:
            work()
        except Exception as exc:
            self._logger.warning("warming %s failed: %s", name, exc)
            self.set(state="failed", error=str(exc))
            return
        seconds = round(time.perf_counter() - started, 3)
        self._logger.info("%s is warm after %.2f s", name, seconds)
        self.set(state="warm", seconds=seconds)

    def note_use(self, is_warmed_model: Callable[[], bool], **values: object) -> None:
        """A request ran a model: unless already warm, the state is warm now (with
        ``values``) if ``is_warmed_model()``, which is asked only then."""
        with self._lock:
            state = self._state()
            if state.get("state") != "warm" and is_warmed_model():
                state.update(state="warm", **values)
