"""Fixtures for the model store: an empty store, a loopback HTTP server, test specs."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from models_store import loading, store
from models_store.registry import REGISTRY, ModelSpec


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test builds detectors and hashes files as if the process were new."""
    loading.clear_cache()
    store.clear_digest_cache()
    yield
    loading.clear_cache()


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served on 127.0.0.1 (the only "internet" the tests use) and its URL."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def served_spec(root: Path, base_url: str, data: bytes, key: str) -> ModelSpec:
    """Put ``data`` on the loopback server and describe it like a real ONNX detector."""
    filename = f"{key}.onnx"
    (root / filename).write_bytes(data)
    return replace(
        REGISTRY["fastestdet"],
        key=key,
        name=f"Test model {key}",
        filename=filename,
        url=f"{base_url}/{filename}",
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
    )
