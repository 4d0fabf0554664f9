"""One process-wide guard between torch.fx tracing and torch model runs (pure).

While ``torch.fx`` traces a module (torchvision's ``create_feature_extractor``),
it patches ``nn.Module.__call__`` and ``__getattr__`` for *every* thread: any
module another thread runs meanwhile is routed into the tracer and fails
("module is not installed as a submodule"). ``TRACING`` is a shared/exclusive
lock: a model run holds it shared (``with TRACING:``, many at once), a trace
holds it exclusive (``with TRACING.exclusive():``), so a trace waits for the runs
in flight and new runs wait for the trace (milliseconds to a second, once per
extractor and process). A waiting trace goes first: a steady stream of runs
cannot starve it. Shared holds nest in one thread; never wait for another lock
(the loader's) while holding it shared, since the trace holds the loader's lock.
Imports only the standard library, never Django.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class TraceGuard:
    """Shared for model runs, exclusive for tracing; writer-preferring."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._runs = 0
        self._tracing = False
        self._traces_waiting = 0
        self._held = threading.local()

    def __enter__(self) -> TraceGuard:
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            with self._condition:
                while self._tracing or self._traces_waiting:
                    self._condition.wait()
                self._runs += 1
        self._held.depth = depth + 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._held.depth -= 1
        if self._held.depth == 0:
            with self._condition:
                self._runs -= 1
                if self._runs == 0:
                    self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold while tracing: no model runs in any thread meanwhile."""
        if getattr(self._held, "depth", 0):
            raise RuntimeError("a thread running a model cannot start a trace")
        with self._condition:
            self._traces_waiting += 1
            try:
                while self._tracing or self._runs:
                    self._condition.wait()
            finally:
                self._traces_waiting -= 1
            self._tracing = True
        try:
            yield
        finally:
            with self._condition:
                self._tracing = False
                self._condition.notify_all()


TRACING = TraceGuard()
