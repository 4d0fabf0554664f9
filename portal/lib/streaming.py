"""Streamed responses that stay streamed under both servers: ``FileResponse`` and
``StreamingHttpResponse`` to use instead of Django's.

Django's ASGI handler reads a response through ``__aiter__``; for a sync iterator
(a file, a generator) the stock one warns and reads the **whole** content into
memory before sending a byte: 30 students fetching Pyodide's 9 MB runtime, or a
run's crops ZIP, would each hold it all. Here ``__aiter__`` pulls one chunk at a
time in a worker thread instead. Under WSGI nothing changes: ``__iter__`` (and
gunicorn's ``sendfile`` for files) as before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django import http

_END = object()


def _next_chunk(chunks: Iterator[Any]) -> Any:
    return next(chunks, _END)


class ChunksInThreads:
    """Mixin for a ``StreamingHttpResponse`` over a sync iterator."""

    streaming_content: Any
    is_async: bool

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.is_async:
            async for part in self.streaming_content:
                yield part
            return
        chunks = iter(self.streaming_content)
        # Not thread-sensitive: a chunk (a file read, a JPEG encode) needs no
        # database, and must not wait behind the request's own thread.
        next_chunk = sync_to_async(_next_chunk, thread_sensitive=False)
        while (chunk := await next_chunk(chunks)) is not _END:
            yield chunk


class StreamingHttpResponse(ChunksInThreads, http.StreamingHttpResponse):
    pass


class FileResponse(ChunksInThreads, http.FileResponse):
    pass
