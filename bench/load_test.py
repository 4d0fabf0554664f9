"""A class uploading at once: 20 students against gunicorn on loopback, for a minute.

A measurement, not a test. For each database (SQLite, and PostgreSQL when a server
answers on 127.0.0.1:5432) it:

1. makes a throw-away var/ folder (database, media, static files, model store),
   migrates, imports the detector files from ``shared/weights``, collects static
   files and creates ``--users`` students with API tokens;
2. starts ``gunicorn -c gunicorn.conf.py`` on 127.0.0.1 with
   ``portal.settings.dev`` and ``PORTAL_DEBUG=0`` (DEBUG off, as in production);
3. lets every student, in its own thread, loop for ``--duration`` seconds over the
   photos in ``shared/samples/people``: half the class logs in and uploads through
   the web page (session, CSRF; then the result page and its annotated image, and
   every third round the history page), the other half through the API (token;
   POST /api/v1/detections/, then the annotated image and the first crop, and every
   third round the run list);
4. stops gunicorn, then checks the storage: every accepted upload has its row, its
   detections, and every stored file (photo and thumbnail),
   and no run folder lacks its row;
5. prints requests/s, p50/p95 latency, status counts, rows vs files, and drops the
   PostgreSQL database it created.

``--scenario flood`` ("one student floods, another browses") instead runs two
students: one posts photos to the API as fast as the server lets it (no pause, 429s
included, a new request as soon as the last one is answered), the classmate
uploads one photo before the clock starts, then loops over ``/lessons/`` and that
result page; the classmate's p50/p95 are what the flood must not spoil.

    .venv/bin/python bench/load_test.py [--db sqlite|postgres|both] [--users 20]
        [--duration 60] [--port 8765] [--scenario class|flood] [--workers N]

Standard library only (threads + http.client); loopback traffic only; every child
process is stopped and every temporary folder or database removed on exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
PYTHON = sys.executable
HOST = "127.0.0.1"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REQUEST_TIMEOUT = 180  # seconds; a request slower than this counts as an error
PASSWORD = "load-test-" + uuid.uuid4().hex
RUN_PATH = re.compile(r"^/demos/people/([0-9a-f-]{36})/$")
SETUP_SCRIPT = """
import json, sys
import django
django.setup()
from knox.models import AuthToken
from accounts.models import User
tokens = []
for number in range(int(sys.argv[1])):
    user = User.objects.create_user(
        username=f"student{number:02d}", password=sys.argv[2]
    )
    tokens.append(AuthToken.objects.create(user)[1])
print(json.dumps(tokens))
"""
VERIFY_SCRIPT = """
import json, sys
from pathlib import Path
import django
django.setup()
from django.conf import settings
from demos.models import DemoRun
accepted = json.loads(Path(sys.argv[1]).read_text())
media = Path(settings.MEDIA_ROOT)
runs = {str(r.public_id): r for r in DemoRun.objects.prefetch_related("detections")}
missing_rows = [i for i in accepted if i not in runs]
missing_files, files, detections = [], 0, 0
for run in runs.values():
    wanted = [run.image_path, run.thumbnail_path]  # crops are cut on request
    detections += run.detections.count()
    for relative in wanted:
        if (media / relative).is_file():
            files += 1
        else:
            missing_files.append(relative)
folders = {p.name for p in (media / "runs").glob("*/*") if p.is_dir()}
stored = sum(1 for p in (media / "runs").rglob("*") if p.is_file())
print(json.dumps({
    "accepted": len(accepted),
    "rows": len(runs),
    "detection_rows": detections,
    "files_expected": files + len(missing_files),
    "files_found": files,
    "files_on_disk": stored,
    "missing_rows": missing_rows,
    "missing_files": missing_files[:10],
    "orphan_folders": sorted(folders - set(runs))[:10],
    "runs_without_folder": sorted(set(runs) - folders)[:10],
}))
"""


@dataclass
class Sample:
    kind: str
    status: int  # 0: connection error or timeout
    seconds: float


@dataclass
class Results:
    samples: list[Sample] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    load_before: float = 0.0  # 1-min load average when the clock started

    def add(self, sample: Sample, run_id: str | None = None) -> None:
        with self.lock:
            self.samples.append(sample)
            if run_id:
                self.accepted.append(run_id)


# --- Environment --------------------------------------------------------------


def run_checked(args: list[str], env: dict[str, str], timeout: int = 600) -> str:
    result = subprocess.run(
        args, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def portal_env(
    var_dir: Path, port: int, database_url: str, workers: int = 0
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "GUNICORN_", "DJANGO_"))
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "PORTAL_DEBUG": "0",
        "PORTAL_VAR_DIR": str(var_dir),
        "PORTAL_ALLOWED_HOSTS": HOST,
        "PORTAL_LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"{HOST}:{port}",
    }
    if workers:
        env["GUNICORN_WORKERS"] = str(workers)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def postgres_available() -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    try:
        with psycopg.connect(
            PG_ADMIN_URL.replace("postgres://", "postgresql://"), connect_timeout=3
        ):
            return True
    except psycopg.Error:
        return False


def postgres_admin(statement: str) -> None:
    import psycopg

    url = PG_ADMIN_URL.replace("postgres://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement)


def prepare(env: dict[str, str], users: int) -> list[str]:
    """Migrate, import detectors, collect static files, create students; tokens."""
    manage = [PYTHON, "manage.py"]
    run_checked([*manage, "migrate", "--noinput", "-v0"], env)
    run_checked([*manage, "createcachetable"], env)
    run_checked([*manage, "models", "import", str(SHARED_DIR / "weights")], env)
    run_checked([*manage, "collectstatic", "--noinput", "-v0"], env)
    script = [PYTHON, "-c", SETUP_SCRIPT, str(users), PASSWORD]
    return json.loads(run_checked(script, env))


def start_gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    gunicorn = str(Path(PYTHON).with_name("gunicorn"))
    with log.open("wb") as out:
        server = subprocess.Popen(
            [gunicorn, "-c", "gunicorn.conf.py"],
            cwd=REPO_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one
        )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(1)
    stop(server)
    raise RuntimeError("gunicorn did not answer /healthz within 180 s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


# --- Students -------------------------------------------------------------------


def multipart(
    fields: dict[str, str], file_field: str, filename: str, data: bytes
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        f"{value}\r\n".encode()
        for name, value in fields.items()
    ]
    parts.append(
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{file_field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Student:
    """One student's keep-alive connection: the web page (session) or the API (token).

    Page students log in through the login form and upload through the upload form
    (CSRF cookie + header), like a browser; API students send ``Authorization:
    Token``. Each response's cookies are kept, as a browser would.
    """

    def __init__(
        self, port: int, username: str, token: str, results: Results, *, uses_page: bool
    ) -> None:
        self.port = port
        self.username = username
        self.token = token
        self.uses_page = uses_page
        self.results = results
        self.cookies: dict[str, str] = {}
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "",
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {}
        if self.uses_page:
            if self.cookies:
                headers["Cookie"] = "; ".join(
                    f"{k}={v}" for k, v in self.cookies.items()
                )
            if method == "POST" and "csrftoken" in self.cookies:
                headers["X-CSRFToken"] = self.cookies["csrftoken"]
        else:
            headers["Authorization"] = f"Token {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(
                    HOST, self.port, timeout=REQUEST_TIMEOUT
                )
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            payload = response.read()
            status = response.status
            answer = {k.lower(): v for k, v in response.getheaders()}
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie(header)
                self.cookies |= {name: morsel.value for name, morsel in cookie.items()}
            if answer.get("connection", "").lower() == "close":
                self.connection.close()
                self.connection = None
        except (OSError, http.client.HTTPException):
            if self.connection is not None:
                self.connection.close()
            self.connection = None
            status, answer, payload = 0, {}, b""
        elapsed = time.perf_counter() - started
        run_id = None
        if kind in ("upload", "flood") and status == 201:
            run_id = json.loads(payload)["id"]
        elif kind == "upload" and status == 302:
            match = RUN_PATH.match(answer.get("location", ""))
            run_id = match.group(1) if match else None
        self.results.add(Sample(kind, status, elapsed), run_id)
        return status, answer, payload

    def log_in(self) -> None:
        self.request("page", "GET", "/accounts/login/")
        form = f"username={self.username}&password={PASSWORD}"
        self.request(
            "page",
            "POST",
            "/accounts/login/",
            form.encode(),
            "application/x-www-form-urlencoded",
        )

    def upload_through_the_page(self, photo: Path) -> str | None:
        body, content_type = multipart(
            {"detector": "yolox-nano"}, "images", photo.name, photo.read_bytes()
        )
        status, answer, _ = self.request(
            "upload", "POST", "/demos/people/", body, content_type
        )
        if status != 302:
            return None
        detail = answer["location"]
        self.request("page", "GET", detail)
        self.request("file", "GET", detail + "annotated.jpg")
        return detail

    def upload_through_the_api(self, photo: Path) -> None:
        body, content_type = multipart({}, "image", photo.name, photo.read_bytes())
        status, _, payload = self.request(
            "upload", "POST", "/api/v1/detections/", body, content_type
        )
        if status == 201:
            run = json.loads(payload)
            self.request("file", "GET", local_path(run["annotated_url"]))
            if run["persons"]:
                self.request("file", "GET", local_path(run["persons"][0]["crop_url"]))

    def flood(self, photos: list[Path], deadline: float, offset: int) -> None:
        """Upload through the API without a pause, whatever the answer."""
        round_number = 0
        while time.monotonic() < deadline:
            photo = photos[(offset + round_number) % len(photos)]
            body, content_type = multipart({}, "image", photo.name, photo.read_bytes())
            self.request("flood", "POST", "/api/v1/detections/", body, content_type)
            round_number += 1

    def browse(self, result_page: str, deadline: float) -> None:
        """The classmate: the lessons list and their own result page, in turn."""
        while time.monotonic() < deadline:
            self.request("classmate", "GET", "/lessons/")
            self.request("classmate", "GET", result_page)

    def loop(self, photos: list[Path], deadline: float, offset: int) -> None:
        if self.uses_page:
            self.log_in()
        round_number = 0
        while time.monotonic() < deadline:
            photo = photos[(offset + round_number) % len(photos)]
            if self.uses_page:
                self.upload_through_the_page(photo)
                if round_number % 3 == 2:
                    self.request("page", "GET", "/demos/people/history/")
            else:
                self.upload_through_the_api(photo)
                if round_number % 3 == 2:
                    self.request("page", "GET", "/api/v1/detections/")
            round_number += 1


def local_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- Report -----------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summarise(results: Results, wall: float) -> dict:
    by_kind: dict[str, dict] = {}
    kinds = ["upload", "file", "page"]
    kinds += sorted({s.kind for s in results.samples} - set(kinds))
    for kind in kinds:
        times = [s.seconds * 1000 for s in results.samples if s.kind == kind]
        ok = [s for s in results.samples if s.kind == kind and 200 <= s.status < 400]
        by_kind[kind] = {
            "requests": len(times),
            "ok": len(ok),
            "per_second": len(times) / wall,
            "p50_ms": statistics.median(times) if times else float("nan"),
            "p95_ms": percentile(times, 0.95),
        }
    statuses = Counter(s.status for s in results.samples)
    return {
        "wall_s": wall,
        "requests": len(results.samples),
        "requests_per_second": len(results.samples) / wall,
        "kinds": by_kind,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "connection_errors": statuses.get(0, 0),
    }


def run_load(label: str, database_url: str, args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"portal-load-{label}-"))
    env = portal_env(work / "var", args.port, database_url, args.workers)
    (work / "var").mkdir()
    server = None
    try:
        print(f"[{label}] preparing {work} ...", flush=True)
        tokens = prepare(env, args.users)
        server = start_gunicorn(env, args.port, work / "gunicorn.log")
        photos = sorted((SHARED_DIR / "samples" / "people").iterdir())
        results = Results()
        if args.scenario == "flood":
            return _finish(
                label, work, env, server, *run_flood(args, tokens, photos, results)
            )
        # Half the class uses the web page (session + CSRF), half the API (token).
        students = [
            Student(args.port, f"student{n:02d}", token, results, uses_page=n % 2 == 0)
            for n, token in enumerate(tokens)
        ]
        print(
            f"[{label}] {len(students)} students for {args.duration} s ...", flush=True
        )
        results.load_before = os.getloadavg()[0]
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(target=s.loop, args=(photos, deadline, i), daemon=True)
            for i, s in enumerate(students)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.duration + REQUEST_TIMEOUT + 30)
        wall = time.monotonic() - started
        return _finish(label, work, env, server, results, wall)
    finally:
        if server is not None:
            stop(server)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"[{label}] kept {work}")


def run_flood(
    args: argparse.Namespace, tokens: list[str], photos: list[Path], results: Results
) -> tuple[Results, float]:
    """One student floods the API; a classmate browses lessons and a result."""
    flooder = Student(args.port, "student00", tokens[0], results, uses_page=False)
    classmate = Student(args.port, "student01", tokens[1], results, uses_page=True)
    classmate.log_in()
    result_page = classmate.upload_through_the_page(photos[0])
    if result_page is None:
        raise RuntimeError("the classmate's first upload was refused")
    results.samples.clear()  # the set-up requests are not part of the figures
    print(f"[flood] one student floods, one browses, {args.duration} s", flush=True)
    results.load_before = os.getloadavg()[0]
    started = time.monotonic()
    deadline = started + args.duration
    threads = [
        threading.Thread(target=flooder.flood, args=(photos, deadline, 1), daemon=True),
        threading.Thread(target=classmate.browse, args=(result_page, deadline)),
    ]
    threads[1].daemon = True
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.duration + REQUEST_TIMEOUT + 30)
    return results, time.monotonic() - started


def _finish(
    label: str,
    work: Path,
    env: dict[str, str],
    server: subprocess.Popen,
    results: Results,
    wall: float,
) -> dict:
    """Stop the server, summarise, check the storage against the accepted runs."""
    stop(server)
    summary = summarise(results, wall)
    # Other processes on the machine skew the figures: record how busy it was.
    load_now = os.getloadavg()[0]
    summary["load_average"] = [round(results.load_before, 1), round(load_now, 1)]
    accepted = work / "accepted.json"
    accepted.write_text(json.dumps(results.accepted))
    summary["storage"] = json.loads(
        run_checked([PYTHON, "-c", VERIFY_SCRIPT, str(accepted)], env)
    )
    summary["database"] = label
    log_text = (work / "gunicorn.log").read_text(errors="replace")
    summary["worker_timeouts"] = log_text.count("WORKER TIMEOUT")
    summary["tracebacks_in_log"] = log_text.count("Traceback")
    return summary


def print_report(summary: dict) -> None:
    storage = summary["storage"]
    print(f"\n== {summary['database']} ==")
    print(
        f"{summary['requests']} requests in {summary['wall_s']:.1f} s: "
        f"{summary['requests_per_second']:.2f} req/s; statuses {summary['statuses']}; "
        f"5xx {summary['server_errors']}, connection errors "
        f"{summary['connection_errors']}, "
        f"worker timeouts {summary['worker_timeouts']}; "
        f"1-min load average {summary['load_average'][0]} before, "
        f"{summary['load_average'][1]} after"
    )
    for kind, figures in summary["kinds"].items():
        if not figures["requests"]:
            continue
        print(
            f"  {kind:9s} {figures['requests']:5d} requests ({figures['ok']} ok), "
            f"{figures['per_second']:.2f}/s, p50 {figures['p50_ms']:.0f} ms, "
            f"p95 {figures['p95_ms']:.0f} ms"
        )
    print(
        f"  storage: {storage['accepted']} accepted uploads, "
        f"{storage['rows']} run rows "
        f"({storage['detection_rows']} detection rows), files "
        f"{storage['files_found']}/{storage['files_expected']} expected "
        f"({storage['files_on_disk']} on disk); missing rows "
        f"{len(storage['missing_rows'])}, missing files "
        f"{len(storage['missing_files'])}, orphan folders "
        f"{len(storage['orphan_folders'])}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=int, default=60, help="seconds (max 600)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scenario", choices=["class", "flood"], default="class")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers")
    parser.add_argument("--keep", action="store_true", help="keep the temp folders")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.duration = max(5, min(args.duration, 600))  # bounded, whatever is asked
    if args.scenario == "flood":
        args.users = 2

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    summaries = []
    if args.db in ("sqlite", "both"):
        summaries.append(run_load("sqlite", "", args))
    if args.db in ("postgres", "both"):
        if postgres_available():
            name = f"portal_load_{os.getpid()}"
            postgres_admin(f'CREATE DATABASE "{name}"')
            try:
                url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
                summaries.append(run_load("postgres", url, args))
            finally:
                postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print("PostgreSQL is not answering on 127.0.0.1:5432; skipped.")
    for summary in summaries:
        print_report(summary)
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=2))
    failed = any(
        s["server_errors"]
        or s["storage"]["missing_rows"]
        or s["storage"]["missing_files"]
        or s["storage"]["orphan_folders"]
        for s in summaries
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
