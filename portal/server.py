"""gunicorn's asyncio (ASGI) worker, with deadlines for slow clients (`make run`).

With ``gthread`` workers each connection held a thread while its request arrived,
so 50 connections that sent a byte a second held every thread and a class of 30
got no page for a minute (issue 21, finding 7). gunicorn's asyncio worker reads
requests in its event loop: a slow client costs a coroutine and a socket, and
Django (``portal.asgi``) starts only on a complete request. What the stock worker
lacks, added here:

- **Header deadline**: a connection's first request must have sent all its headers
  within ``GUNICORN_HEADER_TIMEOUT`` seconds (10), else 408 and closed. Later
  requests on a kept-alive connection already have ``keepalive`` seconds.
- **Body rate**: after ``GUNICORN_BODY_TIMEOUT`` seconds (30) a body must have
  averaged at least ``GUNICORN_BODY_MIN_RATE`` bytes a second (10 KB/s, so a 15 MB
  photo over a slow shared uplink still arrives); a body that falls behind is
  dropped, and Django, still reading it, sees the client gone.
- **Connection cap**: ``worker_connections`` per worker, which the stock asyncio
  worker does not enforce; a connection over it gets a 503 and is closed.
- **A quick exit**: a stopping worker (``max_requests``, HUP) waits up to
  ``graceful_timeout`` for its connections, slow ones included, and is replaced only
  once it has gone; with two workers recycling every minute under class load, 50 slow
  connections could keep both away. On stopping, it closes at once every connection
  with no request under way (idle, or headers still arriving) and every body that
  has not averaged ``GUNICORN_BODY_MIN_RATE`` since it began; requests being served
  and uploads keeping the pace finish as before.

Not imported by Django: gunicorn loads this module by name (``worker_class`` in
``gunicorn.conf.py``).
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from gunicorn.asgi import protocol as asgi_protocol
from gunicorn.workers import gasgi


def seconds_from_env(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


HEADER_TIMEOUT = seconds_from_env("GUNICORN_HEADER_TIMEOUT", 10)
BODY_TIMEOUT = seconds_from_env("GUNICORN_BODY_TIMEOUT", 30)
BODY_MIN_RATE = seconds_from_env("GUNICORN_BODY_MIN_RATE", 10 * 1024)
CHECK_EVERY = 1.0  # seconds between two looks at a body's progress


class DeadlineProtocol(asgi_protocol.ASGIProtocol):
    """One HTTP/1 connection with the deadlines above."""

    def __init__(self, worker: Any) -> None:
        super().__init__(worker)
        self._header_timer: Any = None
        self._body_timer: Any = None
        self._body_began = 0.0
        self._body_received = 0
        self._opened = worker.loop.time()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.worker.connections.add(self)
        if self.worker.nr_conns > self.worker.worker_connections:
            self._refuse(503, "The server is busy; try again.")
            return
        if self._callback_parser is not None and HEADER_TIMEOUT > 0:
            self._header_timer = self.worker.loop.call_later(
                HEADER_TIMEOUT, self._refuse, 408, "Request headers too slow."
            )

    def _on_headers_complete(self) -> Any:
        self._cancel_timers()
        result = super()._on_headers_complete()
        request = self._current_request
        if request is not None and (request.content_length or request.chunked):
            self._body_began = self.worker.loop.time()
            self._body_received = 0
            self._body_timer = self.worker.loop.call_later(
                max(BODY_TIMEOUT, CHECK_EVERY), self._check_body_rate
            )
        return result

    def _on_body(self, chunk: bytes) -> None:
        self._body_received += len(chunk)
        super()._on_body(chunk)

    def _on_message_complete(self) -> None:
        self._cancel_timers()
        super()._on_message_complete()

    def close_if_waiting(self) -> None:
        """On the worker's exit: close an idle kept-alive connection, one whose
        first request is still arriving after a second (a browser sends its
        headers at once), and a body behind the least rate."""
        if self._closed:
            return
        now = self.worker.loop.time()
        if self._current_request is None:
            if self.req_count > 1 or now - self._opened >= CHECK_EVERY:
                self._drop()
        elif self._body_timer is not None:
            elapsed = now - self._body_began
            if self._body_received < (elapsed - CHECK_EVERY) * BODY_MIN_RATE:
                self._drop()

    def _check_body_rate(self) -> None:
        self._body_timer = None
        elapsed = self.worker.loop.time() - self._body_began
        if self._body_received <= (elapsed - BODY_TIMEOUT) * BODY_MIN_RATE:
            self.log.info(
                "Dropped a request body that sent %d bytes in %.0f s",
                self._body_received,
                elapsed,
            )
            # No answer: the application has the request, and Django, reading
            # its body, sees the client disconnect.
            self._drop()
            return
        self._body_timer = self.worker.loop.call_later(
            CHECK_EVERY, self._check_body_rate
        )

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` and close (no application has the request yet)."""
        if not self._closed:
            self._send_error_response(status, message)
        self._drop()

    def _drop(self) -> None:
        self._cancel_timers()
        self._close_transport()
        if self._request_ready is not None:
            self._request_ready.set()  # wakes the connection loop, which exits

    def _cancel_timers(self) -> None:
        for name in ("_header_timer", "_body_timer"):
            timer = getattr(self, name)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)


class Worker(gasgi.ASGIWorker):
    """gunicorn's asyncio worker, serving connections with ``DeadlineProtocol``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: weakref.WeakSet[DeadlineProtocol] = weakref.WeakSet()

    async def _shutdown(self) -> None:
        # Stop accepting first (the stock shutdown does it too, again harmlessly),
        # then look at the connections left every second until they are gone.
        for server in self.servers:
            server.close()
        sweeping = self.loop.create_task(self._close_waiting_connections())
        try:
            await super()._shutdown()
        finally:
            sweeping.cancel()

    async def _close_waiting_connections(self) -> None:
        while True:
            for connection in list(self.connections):
                connection.close_if_waiting()
            await asyncio.sleep(CHECK_EVERY / 2)

    async def _serve(self) -> None:
        # The stock _serve builds each connection's protocol from this module
        # name; this worker's process serves only this worker.
        gasgi.ASGIProtocol = DeadlineProtocol
        await super()._serve()
