"""50 slow clients against a class of 30 on a directly reachable gunicorn (issue 21).

A measurement, not a test (the test is ``tests/portal/test_slow_clients.py``). For
each server shape it starts gunicorn as ``make run`` does (``gunicorn.conf.py``, two
workers, ``portal.settings.test``, a throw-away var/ folder with the static files
collected) on loopback, then for
``--duration`` seconds lets 30 students, each in its own thread, load pages one
after another (``/healthz``, ``/accounts/login/``, a static file), with and without
50 slow connections beside them: 40 that send a request line and then a header
byte a second, 10 that declare a 10 MB body and send a byte of it a second; a slow
connection the server drops is opened again at once, as an attacker would.

Shapes: ``asgi`` (the default since issue 21: gunicorn's asyncio worker serving
``portal.asgi``) and ``gthread`` (before: ``GUNICORN_WORKER_CLASS=gthread``,
``portal.wsgi``, 4 threads per worker). Prints, per shape and attack: pages
answered, pages failed (no answer within 10 s or not 200), p50/p90/max seconds,
and slow connections the server dropped.

    .venv/bin/python bench/slow_clients.py [--duration 20] [--shapes asgi,gthread]

Standard library only; loopback only; the servers are stopped and the folders
removed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
PAGES = ("/healthz", "/accounts/login/", "/static/img/samples/cyclists.jpg")
STUDENTS = 30
HEADER_SLOW, BODY_SLOW = 40, 10
PAGE_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(shape: str, port: int, var_dir: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "PORTAL_VAR_DIR": str(var_dir),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PORTAL_WARM_DETECTOR": "false",
        "PORTAL_WARM_CNN": "false",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_DIR,
        env=env,
        check=True,
    )
    command = [GUNICORN, "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null"]
    if shape == "gthread":
        env["GUNICORN_WORKER_CLASS"] = "gthread"
        command.insert(1, "portal.wsgi")
    return subprocess.Popen(
        command,
        cwd=REPO_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def get(port: int, path: str) -> tuple[bool, float]:
    began = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        ok = response.status == 200
    except OSError:
        ok = False
    finally:
        connection.close()
    return ok, time.monotonic() - began


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if get(port, "/healthz")[0]:
            return
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer /healthz")


class SlowClients(threading.Thread):
    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stopped = threading.Event()
        self.dropped = 0
        self.kinds = ["header"] * HEADER_SLOW + ["body"] * BODY_SLOW
        self.sockets: list[socket.socket | None] = [None] * len(self.kinds)

    def open(self, kind: str) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if kind == "header":
            sock.sendall(b"GET /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        else:
            sock.sendall(
                b"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 10000000\r\n\r\n"
            )
        return sock

    def run(self) -> None:
        while not self.stopped.is_set():
            for index, kind in enumerate(self.kinds):
                sock = self.sockets[index]
                try:
                    if sock is None:
                        self.sockets[index] = self.open(kind)
                    else:
                        sock.send(b"a")
                except OSError:
                    if sock is not None:
                        self.dropped += 1
                        sock.close()
                    self.sockets[index] = None
            self.stopped.wait(1.0)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
        for sock in self.sockets:
            if sock is not None:
                sock.close()


def class_of_30(port: int, seconds: float) -> list[tuple[bool, float]]:
    results: list[tuple[bool, float]] = []
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def student(number: int) -> None:
        page = number
        while time.monotonic() < end:
            answer = get(port, PAGES[page % len(PAGES)])
            page += 1
            with lock:
                results.append(answer)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(STUDENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if values else 0


def measure(shape: str, seconds: float) -> None:
    port = free_port()
    var_dir = Path(tempfile.mkdtemp(prefix="portal-slow-clients."))
    server = start(shape, port, var_dir)
    try:
        wait_until_up(port)
        for attacked in (False, True):
            attack = SlowClients(port)
            if attacked:
                attack.start()
                time.sleep(3)  # every slow connection is in
            results = class_of_30(port, seconds)
            if attacked:
                attack.stop()
            times = [took for _, took in results]
            failed = sum(1 for ok, _ in results if not ok)
            print(
                f"{shape:8} {'50 slow' if attacked else 'no slow':8} "
                f"pages {len(results):5}  failed {failed:5}  "
                f"p50 {percentile(times, 0.5):5.2f} s  "
                f"p90 {percentile(times, 0.9):5.2f} s  max {max(times):5.2f} s  "
                f"slow dropped {attack.dropped}",
                flush=True,
            )
    finally:
        stop(server)
        shutil.rmtree(var_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--shapes", default="asgi,gthread")
    args = parser.parse_args()
    with contextlib.suppress(OSError):
        print(f"load average before: {os.getloadavg()}", flush=True)
    for shape in args.shapes.split(","):
        measure(shape, args.duration)
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
