"""The portal under ASGI (`make run`, issue 21 finding 7): streamed answers stay
streamed, an oversized body is never read, and WSGI is unchanged.

Django's ASGI handler read a sync-iterated response (a file, the crops ZIP, every
static file through whitenoise) whole into memory before sending a byte, with a
warning; it read a request's whole body (spooled to disk) before any middleware
could refuse its size.
"""

from __future__ import annotations

import asyncio
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from portal.lib.streaming import FileResponse, StreamingHttpResponse
from portal.middleware import StaticFileResponse, StaticFilesMiddleware

REPO = Path(__file__).resolve().parents[2]
PHOTO = REPO / "static/img/samples/astronaut.jpg"


async def read_as_asgi(response: Any) -> list[bytes]:
    """The chunks Django's ASGI handler sends (it reads ``aiter(response)``)."""
    return [chunk async for chunk in response]


def run_coroutine(coroutine):
    """``asyncio.run`` on a thread of its own: the browser tests' Playwright keeps
    an event loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def test_a_file_is_sent_a_chunk_at_a_time_under_asgi() -> None:
    response = FileResponse(PHOTO.open("rb"), content_type="image/jpeg")
    response.block_size = 8192
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django's "consume synchronous iterators"
        chunks = run_coroutine(read_as_asgi(response))
    response.file_to_stream.close()
    assert len(chunks) > 1
    assert b"".join(chunks) == PHOTO.read_bytes()


def test_a_generator_is_pulled_as_it_is_sent_not_read_whole_first() -> None:
    pulled: list[int] = []

    def chunks():
        for number in range(5):
            pulled.append(number)
            yield b"x" * 10

    response = StreamingHttpResponse(chunks())

    async def first_chunk() -> bytes:
        async for chunk in response:
            return chunk
        return b""

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_coroutine(first_chunk()) == b"x" * 10
    assert pulled == [0]  # the stock response had pulled all five


def test_under_wsgi_the_same_responses_iterate_as_before() -> None:
    response = FileResponse(PHOTO.open("rb"))
    assert b"".join(response) == PHOTO.read_bytes()
    assert b"".join(StreamingHttpResponse(iter([b"a", b"b"]))) == b"ab"


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_static_files_are_streamed_too() -> None:
    middleware = StaticFilesMiddleware(lambda request: HttpResponse("not static"))
    request = RequestFactory().get("/static/img/samples/astronaut.jpg")
    response = middleware(request)
    assert isinstance(response, StaticFileResponse)
    assert response["Content-Type"] == "image/jpeg"
    assert int(response["Content-Length"]) == PHOTO.stat().st_size
    response.block_size = 8192
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chunks = run_coroutine(read_as_asgi(response))
    response.file_to_stream.close()
    assert len(chunks) > 1 and b"".join(chunks) == PHOTO.read_bytes()


def call_asgi(scope_headers: list, body_messages: list) -> tuple[list, int]:
    """(messages sent, body messages the application read) for one POST."""
    from portal.asgi import application

    pending = list(body_messages)
    read = 0
    sent: list = []

    async def receive() -> dict:
        nonlocal read
        if pending:
            read += 1
            return pending.pop(0)
        await asyncio.sleep(3600)  # the client says nothing more
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/detections/",
        "raw_path": b"/api/v1/detections/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *scope_headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    run_coroutine(asyncio.wait_for(application(scope, receive, send), 30))
    return sent, read


@pytest.mark.django_db(transaction=True)
@override_settings(MAX_REQUEST_BYTES=1000)
def test_a_declared_body_over_the_cap_is_refused_unread() -> None:
    chunk = {"type": "http.request", "body": b"x" * 600, "more_body": True}
    sent, read = call_asgi([(b"content-length", b"5000")], [chunk] * 9)
    assert sent[0]["status"] == 413
    assert read == 0
    assert b"accepts at most" in b"".join(m.get("body", b"") for m in sent[1:])


@pytest.mark.django_db(transaction=True)
@override_settings(MAX_REQUEST_BYTES=1000)
def test_a_chunked_body_is_cut_off_at_the_cap() -> None:
    chunk = {"type": "http.request", "body": b"x" * 600, "more_body": True}
    sent, read = call_asgi([(b"transfer-encoding", b"chunked")], [chunk] * 9)
    assert sent[0]["status"] == 413
    assert read == 2  # the chunk that went over, and nothing after it
