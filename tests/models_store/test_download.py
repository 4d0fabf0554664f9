"""models_store/download.py against a loopback HTTP server (the only network used)."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from models_store.download import (
    ChecksumMismatch,
    WeightsUnavailable,
    download_file,
    sha256_of,
)
from portal.lib.errors import ServiceUnavailable

DATA = bytes(range(256)) * 9000  # about 2.2 MB: several 1 MiB chunks


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def closed_port() -> int:
    """A loopback port nobody listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_downloads_a_file_whose_hash_matches(http_root, tmp_path: Path) -> None:
    root, url = http_root
    (root / "model.onnx").write_bytes(DATA)
    calls: list[tuple[int, int | None]] = []
    dest = tmp_path / "store" / "model.onnx"
    result = download_file(
        f"{url}/model.onnx",
        dest,
        sha256=sha(DATA),
        progress=lambda done, total: calls.append((done, total)),
    )
    assert result == dest and dest.read_bytes() == DATA
    assert calls[0] == (0, len(DATA)) and calls[-1] == (len(DATA), len(DATA))
    assert len(calls) >= 3
    assert list(dest.parent.iterdir()) == [dest]  # no partial file left


def test_prefix_hash_like_torch_hub_is_accepted(http_root, tmp_path: Path) -> None:
    root, url = http_root
    (root / "w.pth").write_bytes(DATA)
    dest = download_file(
        f"{url}/w.pth", tmp_path / "w.pth", sha256=sha(DATA)[:8], sha256_is_prefix=True
    )
    assert sha256_of(dest) == sha(DATA)


def test_wrong_hash_leaves_no_file_and_no_partial(http_root, tmp_path: Path) -> None:
    root, url = http_root
    (root / "model.onnx").write_bytes(DATA)
    dest = tmp_path / "store" / "model.onnx"
    with pytest.raises(ChecksumMismatch) as caught:
        download_file(f"{url}/model.onnx", dest, sha256="0" * 64)
    assert isinstance(caught.value, ServiceUnavailable)
    assert sha(DATA) in str(caught.value) and "discarded" in str(caught.value)
    assert list(dest.parent.iterdir()) == []


def test_wrong_hash_keeps_an_existing_good_file(http_root, tmp_path: Path) -> None:
    root, url = http_root
    (root / "model.onnx").write_bytes(b"tampered")
    dest = tmp_path / "model.onnx"
    dest.write_bytes(DATA)
    with pytest.raises(ChecksumMismatch):
        download_file(f"{url}/model.onnx", dest, sha256=sha(DATA))
    assert dest.read_bytes() == DATA


def test_missing_file_on_the_server_is_weights_unavailable(
    http_root, tmp_path: Path
) -> None:
    _root, url = http_root
    store = tmp_path / "store"
    with pytest.raises(WeightsUnavailable, match="HTTP 404"):
        download_file(f"{url}/nope.onnx", store / "nope.onnx", sha256="0" * 64)
    assert list(store.iterdir()) == []


def test_no_network_fails_at_once_naming_url_and_import_command(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/yolox_nano.onnx"
    store = tmp_path / "store"
    with pytest.raises(WeightsUnavailable) as caught:
        download_file(url, store / "yolox_nano.onnx", sha256="0" * 64, timeout=5)
    message = str(caught.value)
    assert "yolox_nano.onnx" in message and url in message
    assert "python manage.py models import" in message
    assert list(store.iterdir()) == []


def test_sha256_of_reads_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(DATA)
    assert sha256_of(path) == sha(DATA)
