"""Restart downtime with training runs queued (issue 21, finding 4).

A measurement, not a test. It makes a throw-away var/ folder (SQLite), migrates,
collects static files and creates ``--runs`` students with API tokens, then starts
the portal as ``make run`` does: gunicorn (``--workers``, default 2) and beside it
the training runner (``manage.py run_training_worker``). Each student queues one
full-size training run (all 1437 digits, 60 epochs: each stops at the 30 s cap).
While probe threads GET ``/healthz`` and the login page without pause, it:

1. sends gunicorn's master a HUP (every worker replaced, graceful);
2. sends every worker a TERM at once (what ``max_requests`` does one by one);
3. restarts the runner (TERM, then a new one), the only process that trains;

and after each prints the failed probe requests, the longest stretch in which every
probe failed, and the runs by state (none may be lost: "running" ones keep going or
fail with a reason, "queued" ones wait for the runner).

    .venv/bin/python bench/restart_downtime.py [--runs 30] [--workers 2] [--port 8771]

Standard library only; loopback only; every child process is stopped and the
temporary folder removed on exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PROBE_TIMEOUT = float(os.environ.get("PROBE_TIMEOUT", 5))
SETUP_SCRIPT = """
import json, sys
import django
django.setup()
from knox.models import AuthToken
from accounts.models import User
tokens = []
for number in range(int(sys.argv[1])):
    user = User.objects.create_user(username=f"trainer{number:02d}", password=None)
    tokens.append(AuthToken.objects.create(user)[1])
print(json.dumps(tokens))
"""
STATES_SCRIPT = """
import json
import django
django.setup()
from django.db.models import Count
from demos.models import TrainingRun
rows = TrainingRun.objects.values("state").annotate(n=Count("pk"))
print(json.dumps({row["state"]: row["n"] for row in rows}))
"""
DETAILS_SCRIPT = """
import json
import django
django.setup()
from demos.models import TrainingRun
print(json.dumps(sorted(set(TrainingRun.objects.filter(state="failed")
    .values_list("detail", flat=True)))))
"""


def portal_env(var_dir: Path, port: int, workers: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "GUNICORN_", "DJANGO_", "REDIS_"))
    }
    return env | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "PORTAL_DEBUG": "0",
        "PORTAL_VAR_DIR": str(var_dir),
        "PORTAL_ALLOWED_HOSTS": HOST,
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_PERSON_DETECTOR": "opencv-hog",
        "PORTAL_WARM_DETECTOR": "0",
        "GUNICORN_BIND": f"{HOST}:{port}",
        "GUNICORN_WORKERS": str(workers),
    }


def run_checked(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        args, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            cwd=REPO_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def get(port: int, path: str, token: str = "") -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=PROBE_TIMEOUT)
    headers = {"Authorization": f"Token {token}"} if token else {}
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            if get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer /healthz within 120 s")


def queue_run(port: int, token: str) -> int:
    body = json.dumps({"subset": 1437, "epochs": 60})
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/training-runs/",
            body=body,
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class Probe:
    """Threads that GET two cheap pages without pause; every answer recorded."""

    def __init__(self, port: int, threads: int = 3):
        self.port = port
        self.samples: list[tuple[float, bool, float]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.loop, args=(path,), daemon=True)
            for path in ("/healthz", "/accounts/login/", "/healthz")[:threads]
        ]

    def loop(self, path: str) -> None:
        while not self.stopping.is_set():
            began = time.monotonic()
            try:
                ok = get(self.port, path)[0] == 200
            except OSError:
                ok = False
            with self.lock:
                self.samples.append((began, ok, time.monotonic() - began))
            time.sleep(0.02)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(PROBE_TIMEOUT + 1)

    def window(self, since: float) -> tuple[int, int, float, float]:
        """Requests, failures, the longest all-failing stretch (s) and the slowest
        answer (s) since ``since``."""
        with self.lock:
            rows = sorted(s for s in self.samples if s[0] >= since)
        failed = sum(1 for _, ok, _ in rows if not ok)
        slowest = max((took for _, _, took in rows), default=0.0)
        longest, first_bad = 0.0, None
        for began, ok, _ in rows:
            if not ok and first_bad is None:
                first_bad = began
            elif ok and first_bad is not None:
                longest = max(longest, began - first_bad)
                first_bad = None
        if first_bad is not None:
            longest = max(longest, rows[-1][0] - first_bad)
        return len(rows), failed, longest, slowest


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(pid) for pid in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8771)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds per step")
    parser.add_argument(
        "--gunicorn-args",
        default="",
        help="extra gunicorn arguments (GUNICORN_CMD_ARGS)",
    )
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="portal-restart-"))
    env = portal_env(var_dir, args.port, args.workers)
    if args.gunicorn_args:
        env["GUNICORN_CMD_ARGS"] = args.gunicorn_args
    log = var_dir / "server.log"
    manage = [PYTHON, "manage.py"]
    gunicorn_cmd = [str(Path(PYTHON).with_name("gunicorn")), "-c", "gunicorn.conf.py"]
    runner_cmd = [*manage, "run_training_worker"]
    processes: list[subprocess.Popen] = []
    try:
        run_checked([*manage, "migrate", "--noinput", "-v0"], env)
        run_checked([*manage, "createcachetable"], env)
        run_checked([*manage, "collectstatic", "--noinput", "-v0"], env)
        tokens = json.loads(
            run_checked([PYTHON, "-c", SETUP_SCRIPT, str(args.runs)], env)
        )

        server = start(gunicorn_cmd, env, log)
        processes.append(server)
        runner = start(runner_cmd, env, log)
        processes.append(runner)
        wait_until_up(args.port, server)
        probe = Probe(args.port)
        probe.start()
        statuses = Counter(queue_run(args.port, token) for token in tokens)
        print(f"queued {args.runs} training runs: answers {dict(statuses)}")
        time.sleep(3)

        def states() -> str:
            return run_checked([PYTHON, "-c", STATES_SCRIPT], env).strip()

        def step(name: str, action) -> None:
            began = time.monotonic()
            action()
            time.sleep(args.settle)
            total, failed, longest, slowest = probe.window(began)
            print(
                f"{name:<34} {total:5d} requests, {failed:3d} failed, "
                f"longest outage {longest:5.2f} s, slowest {slowest:5.2f} s; "
                f"runs {states()}"
            )

        step("baseline (nothing restarted)", lambda: None)
        step("gunicorn HUP (all workers)", lambda: os.kill(server.pid, signal.SIGHUP))

        def term_workers() -> None:
            for pid in worker_pids(server.pid):
                os.kill(pid, signal.SIGTERM)

        step("TERM every worker at once", term_workers)

        def restart_runner() -> None:
            nonlocal runner
            stop(runner)
            runner = start(runner_cmd, env, log)
            processes.append(runner)

        step("runner restarted (TERM, new one)", restart_runner)
        probe.stop()
        print("failed runs' reasons:", run_checked([PYTHON, "-c", DETAILS_SCRIPT], env))
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
