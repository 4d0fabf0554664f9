"""Slow clients cannot take the class's server (issue 21, finding 7).

A class reaches the portal over the network, sometimes with gunicorn reachable
directly. With ``gthread`` workers each connection held a thread while its request
arrived: 50 connections that sent their headers or bodies a byte at a time held
every thread, and every page of a class of 30 failed for a minute. gunicorn's
asyncio worker reads requests in its event loop, so a slow client costs a
coroutine, and Django starts only on a complete request. A request that never
completes is dropped (the header and body deadlines in ``portal/server.py``).

The real server below is started as ``make run`` starts it (``gunicorn -c
gunicorn.conf.py``, two workers), on its own port and control socket.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import runpy
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "gunicorn.conf.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")

HEADER_SLOW = 40  # send a request line, then one header byte a second
BODY_SLOW = 10  # declare a 10 MB body, send one byte a second
STUDENTS = 30
PATHS = ("/healthz", "/accounts/login/")
ANSWER_WITHIN = 5.0  # seconds, each student page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(tmp_path: Path, port: int, **env: str) -> subprocess.Popen:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PORTAL_WARM_DETECTOR": "false",
        "PORTAL_WARM_CNN": "false",
        "PORTAL_PERSON_DETECTOR": "opencv-hog",
        **env,
    }
    return subprocess.Popen(
        [str(GUNICORN), "-c", str(CONFIG), "--access-logfile", "/dev/null"],
        cwd=REPO,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "server.log", "wb"),  # noqa: SIM115 (the child keeps it)
        start_new_session=True,
    )


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def get(port: int, path: str, timeout: float) -> tuple[int, float]:
    """(status, seconds) of one GET; status 0 when it failed or timed out."""
    began = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, time.monotonic() - began


def wait_until_up(port: int, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}")
        if get(port, "/healthz", 2)[0] == 200:
            return
        time.sleep(0.3)
    pytest.fail("gunicorn did not answer /healthz")


class SlowClients:
    """``HEADER_SLOW`` + ``BODY_SLOW`` connections trickling a byte a second each;
    a dropped one is opened again (an attacker keeps them up)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stopped = threading.Event()
        self.dropped = 0
        self.sockets: list[tuple[socket.socket, bytes]] = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, kind: str) -> tuple[socket.socket, bytes]:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if kind == "header":
            sock.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            return sock, b"X-Slow: " + b"a" * 4000
        sock.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 10000000\r\n\r\n"
        )
        return sock, b"a" * 10_000_000

    def start(self) -> None:
        kinds = ["header"] * HEADER_SLOW + ["body"] * BODY_SLOW
        self.sockets = [self.open(kind) for kind in kinds]
        self.kinds = kinds
        self.thread.start()

    def run(self) -> None:
        sent = 0
        while not self.stopped.wait(1.0):
            for index, (sock, rest) in enumerate(self.sockets):
                try:
                    sock.send(rest[sent % len(rest) : sent % len(rest) + 1])
                except OSError:
                    self.dropped += 1
                    sock.close()
                    with contextlib.suppress(OSError):
                        self.sockets[index] = self.open(self.kinds[index])
            sent += 1

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        for sock, _ in self.sockets:
            sock.close()


def test_fifty_slow_clients_leave_every_page_of_a_class_answering(
    tmp_path: Path,
) -> None:
    port = free_port()
    server = start_server(tmp_path, port)
    attack = SlowClients(port)
    try:
        wait_until_up(port, server)
        attack.start()
        time.sleep(3)  # every slow connection is in, part-way through its request
        with ThreadPoolExecutor(max_workers=STUDENTS) as pool:
            answers = list(
                pool.map(
                    lambda n: get(port, PATHS[n % len(PATHS)], ANSWER_WITHIN + 5),
                    range(STUDENTS),
                )
            )
        slowest = max(seconds for _, seconds in answers)
        failed = [answer for answer in answers if answer[0] != 200]
        assert not failed, f"{len(failed)} of {STUDENTS} pages failed: {failed}"
        assert slowest < ANSWER_WITHIN, f"slowest page took {slowest:.1f} s"
    finally:
        attack.stop()
        stop_server(server)


def read_until_closed(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing, or None if it kept the connection."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def test_a_request_that_never_completes_is_dropped(tmp_path: Path) -> None:
    port = free_port()
    server = start_server(
        tmp_path, port, GUNICORN_HEADER_TIMEOUT="2", GUNICORN_BODY_TIMEOUT="3"
    )
    try:
        wait_until_up(port, server)
        headers = socket.create_connection(("127.0.0.1", port))
        headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        body = socket.create_connection(("127.0.0.1", port))
        body.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 1000\r\n\r\nabc"
        )
        began = time.monotonic()
        assert read_until_closed(headers, 10) is not None
        headers_closed = time.monotonic() - began
        assert read_until_closed(body, 10) is not None
        body_closed = time.monotonic() - began
        headers.close()
        body.close()
        assert 1.5 < headers_closed < 5
        # 3 s, plus the time 1000 bytes take at the least rate a body must keep.
        assert 2.5 < body_closed < 7
        # The server itself is fine.
        assert get(port, "/healthz", 5)[0] == 200
    finally:
        stop_server(server)


def test_a_stopping_worker_does_not_wait_for_slow_clients(tmp_path: Path) -> None:
    """A worker that stops (max_requests, HUP, TERM) is replaced only once it has
    gone: it closes slow connections at once instead of waiting out
    ``graceful_timeout`` (30 s) for them."""
    port = free_port()
    server = start_server(tmp_path, port)
    attack = SlowClients(port)
    try:
        wait_until_up(port, server)
        attack.start()
        time.sleep(3)  # the bodies are behind the least rate a body must keep
        began = time.monotonic()
        server.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
        server.wait(timeout=40)
        assert time.monotonic() - began < 10
    finally:
        attack.stop()
        stop_server(server)


def config(monkeypatch, **env: str) -> dict:
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def server_for(app_uri: str) -> SimpleNamespace:
    return SimpleNamespace(app=SimpleNamespace(app_uri=app_uri))


def test_make_run_serves_the_asgi_entry_with_the_asyncio_worker(monkeypatch) -> None:
    settings = config(monkeypatch)
    assert settings["wsgi_app"] == "portal.asgi:application"
    assert settings["worker_class"] == "portal.server.Worker"
    settings["on_starting"](server_for("portal.asgi:application"))
    with pytest.raises(SystemExit, match="gunicorn -c gunicorn.conf.py"):
        settings["on_starting"](server_for("portal.wsgi"))  # the old command


def test_the_wsgi_entry_runs_on_gthread_only(monkeypatch) -> None:
    settings = config(monkeypatch, GUNICORN_WORKER_CLASS="gthread")
    assert settings["threads"] == 4
    settings["on_starting"](server_for("portal.wsgi"))
    with pytest.raises(SystemExit):
        settings["on_starting"](server_for("portal.asgi:application"))
