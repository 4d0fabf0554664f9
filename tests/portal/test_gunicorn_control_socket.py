"""Each portal's gunicorn has its own control socket under var/ (issue 21, finding 9).

gunicorn 27 listens on ``~/.gunicorn/gunicorn.ctl`` by default, shared by every
gunicorn of the same user: a second portal (or a benchmark) took the path over and
deleted it on exit. The two real servers below (benchmarks start gunicorn the same
way, with ``GUNICORN_BIND``) each keep their own socket.
"""

from __future__ import annotations

import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def config(monkeypatch, **env: str) -> dict:
    for name in ("GUNICORN_BIND", "GUNICORN_CONTROL_SOCKET", "PORTAL_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_the_control_socket_is_the_portals_own_under_var(
    monkeypatch, tmp_path: Path
) -> None:
    first = config(monkeypatch, GUNICORN_BIND="127.0.0.1:8000")
    assert first["control_socket"] == str(
        (REPO / "var" / "run" / "gunicorn-127.0.0.1_8000.ctl").resolve()
    )
    assert first["control_socket_disable"] is False
    other = config(
        monkeypatch, GUNICORN_BIND="127.0.0.1:8001", PORTAL_VAR_DIR=str(tmp_path)
    )
    assert other["control_socket"] == str(tmp_path / "run/gunicorn-127.0.0.1_8001.ctl")
    assert ".gunicorn" not in first["control_socket"] + other["control_socket"]


@pytest.mark.parametrize("value", ["off", "OFF", "false", "0"])
def test_the_control_socket_can_be_turned_off(monkeypatch, value: str) -> None:
    assert config(monkeypatch, GUNICORN_CONTROL_SOCKET=value)["control_socket_disable"]


def test_a_path_too_long_for_a_unix_socket_turns_it_off(monkeypatch) -> None:
    settings = config(monkeypatch, PORTAL_VAR_DIR="/tmp/" + "v" * 120)
    assert settings["control_socket_disable"] is True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(tmp_path: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),  # where the old default would have gone
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
        "PORTAL_WARM_DETECTOR": "false",
        "PORTAL_WARM_CNN": "false",  # only the sockets matter here: start quickly
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
    }
    env.pop("XDG_RUNTIME_DIR", None)
    return subprocess.Popen(
        [str(GUNICORN), "-c", str(CONFIG)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def wait_for(path: Path, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.2)
    return False


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder with a short path: a Unix socket path holds at most 107 bytes, and
    pytest-xdist's ``tmp_path`` (``…/popen-gw1/test_two_portals_keep_their_ow0/…``)
    is long enough that gunicorn.conf.py rightly turns the socket off."""
    folder = Path(tempfile.mkdtemp(prefix="ctl-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_two_portals_keep_their_own_sockets(short_tmp: Path) -> None:
    tmp_path = short_tmp
    ports = [free_port(), free_port()]
    sockets = [tmp_path / f"var/run/gunicorn-127.0.0.1_{port}.ctl" for port in ports]
    servers = [start(tmp_path, port) for port in ports]
    try:
        assert all(wait_for(path) for path in sockets)
        stop(servers[0])
        assert not sockets[0].exists()  # the first cleans up its own only
        assert sockets[1].exists()
        assert not (tmp_path / "home" / ".gunicorn").exists()
    finally:
        for server in servers:
            stop(server)
