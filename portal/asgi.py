"""ASGI entry point: what `make run` serves (`gunicorn -c gunicorn.conf.py`).

gunicorn's asyncio worker (``portal.server``) reads each request in its event loop
and hands it here only once its headers are in; Django's handler then reads the
body (still in the loop: a slow body holds no thread) and runs the sync views and
middleware in a thread per request. Two things differ from the stock handler:

- **At most ``REQUEST_THREADS`` requests run Django at once per worker** (the
  ``threads`` the ``gthread`` workers had): a class uploading photos at once queues
  in the loop instead of running 30 detections side by side in one process.
- **A body over ``MAX_REQUEST_BYTES`` is never read.** Django's handler reads the
  whole body before any middleware runs, so ``RequestBodyLimitMiddleware`` alone
  would answer 413 only after spooling it to disk: a declared length over the cap
  reaches Django with no body (the middleware answers from the header), and a
  chunked body that grows over it is cut off with a 413.

``portal/wsgi.py`` stays for hosts that run WSGI (behind nginx, see docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.dev")
# Each request runs in a thread of its own: a persistent database connection would
# be left behind in every finished thread (Django: disable them under ASGI).
os.environ.setdefault("PORTAL_DB_CONN_MAX_AGE", "0")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.utils import translation  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402

Message = dict[str, Any]


def declared_length(scope: Message) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


class PortalASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self._slots: asyncio.Semaphore | None = None

    async def handle(self, scope: Message, receive: Any, send: Any) -> None:
        limit = settings.MAX_REQUEST_BYTES
        if declared_length(scope) > limit:
            await super().handle(scope, empty_body(), send)
            return
        capped = CappedBody(receive, limit)
        started = ResponseStarted(send)
        await super().handle(scope, capped, started)
        if capped.over and not started.started:
            await send_too_large(send, capped.received, limit)

    async def run_get_response(self, request: Any) -> Any:
        if self._slots is None:  # made in the worker, after the fork
            self._slots = asyncio.Semaphore(max(1, settings.REQUEST_THREADS))
        async with self._slots:
            return await super().run_get_response(request)


def empty_body() -> Any:
    """The request without its body, which is never read (gunicorn closes the
    connection after the answer); Django's wait for a disconnect just waits."""
    sent = False

    async def receive_nothing() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.get_running_loop().create_future()  # cancelled when answered
        return {"type": "http.disconnect"}

    return receive_nothing


class CappedBody:
    """``receive`` that reports a disconnect once the body passes ``limit`` bytes."""

    def __init__(self, receive: Any, limit: int) -> None:
        self.receive = receive
        self.limit = limit
        self.received = 0
        self.over = False

    async def __call__(self) -> Message:
        message: Message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                self.over = True
                return {"type": "http.disconnect"}
        return message


class ResponseStarted:
    def __init__(self, send: Any) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


async def send_too_large(send: Any, received: int, limit: int) -> None:
    """RequestBodyLimitMiddleware's 413, for a body that had declared no length."""
    with translation.override(settings.LANGUAGE_CODE):
        message = _(
            "The request is %(size)d MB; the server accepts at most %(limit)d MB."
        ) % {"size": received // 2**20, "limit": limit // 2**20}
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


application = PortalASGIHandler()
