"""The guard between torch.fx tracing and model runs (``models_store/tracing.py``)."""

from __future__ import annotations

import threading
import time

import pytest

from models_store.tracing import TraceGuard


def test_a_trace_waits_for_the_run_in_flight_and_new_runs_wait_for_the_trace() -> None:
    guard = TraceGuard()
    events: list[str] = []
    run_started, trace_waiting = threading.Event(), threading.Event()

    def trace() -> None:
        trace_waiting.set()
        with guard.exclusive():
            events.append("trace")

    def late_run() -> None:
        with guard:
            events.append("late run")

    with guard:
        run_started.set()
        tracer = threading.Thread(target=trace)
        tracer.start()
        trace_waiting.wait(5)
        # The trace is queued: a run arriving now lines up behind it.
        while not guard._traces_waiting:
            time.sleep(0.001)
        late = threading.Thread(target=late_run)
        late.start()
        events.append("first run ends")
    tracer.join(5)
    late.join(5)

    assert events == ["first run ends", "trace", "late run"]


def test_runs_share_the_guard_and_nest_in_one_thread() -> None:
    guard = TraceGuard()
    inside = threading.Barrier(2, timeout=5)

    def run() -> None:
        with guard, guard:  # nested: a Grad-CAM inside a prediction
            inside.wait()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert not any(thread.is_alive() for thread in threads)


def test_a_thread_running_a_model_cannot_start_a_trace() -> None:
    guard = TraceGuard()
    with guard, pytest.raises(RuntimeError), guard.exclusive():
        pass
