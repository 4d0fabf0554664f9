"""Detection jobs through real ``celery -A portal worker`` processes and real Redis.

Needs Redis on 127.0.0.1:6379 (``PORTAL_TEST_REDIS_URL`` overrides; database 13
is flushed before and after each test): without it every test here is skipped
with the reason. Each test's worker listens on queues of its own and dies with
this process, so no stray worker can take another run's jobs. The worker is a
subprocess, so it needs a database it can share with this test process:

- PostgreSQL (``DATABASE_URL=postgres://...``, CI's second pass): the test
  database itself, with ``transaction=True`` (rows are committed, then flushed);
- SQLite (the default ``make test``): pytest-django's in-memory database cannot
  be shared, so each test gets a file database (a copy of one migrated once per
  session) and this process's default connection points at it for the test.

Every wait is bounded; a failure prints the tail of the worker's log.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import kombu.pools
import pytest
from django.core.management import call_command
from django.db import connection, connections

from demos.models import DemoRun, DetectionJob
from demos.people.jobs import services as jobs
from portal.celery import app as celery_app
from tests.conftest import REPO_DIR
from tests.demos.people.jobs.conftest import photo
from tests.factories import make_user

REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# Rows must be committed for the worker to see them (PostgreSQL); on SQLite the
# tests use their own file database and this only makes the flush afterwards.
pytestmark = pytest.mark.django_db(transaction=True)

WORKER_READY_SECONDS = 90
PR_SET_PDEATHSIG = 1
JOB_SECONDS = 120

PHOTOS = [
    "people/apollo11_crew.jpg",
    "people/ascent.png",
    "people/astronaut.png",
    "people/camera.png",
    "people/composite_1.png",
    "people/cyclists.jpg",
    "people/grace_hopper.jpg",
    "people/jockey.jpg",
    "people/surfer.jpg",
    "people/two_women_phones.jpg",
    "nobody/chelsea.png",
    "nobody/coffee.png",
    "nobody/pen.jpg",
    "nobody/plane.jpg",
    "nobody/raccoon.jpg",
    "nobody/rocket.jpg",
]


def redis_problem() -> str | None:
    """Why Redis cannot be used here, or ``None`` when it answers PING."""
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install -r requirements.txt)"
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return (
            f"Redis is not reachable at {REDIS_URL} ({exc}); start it with "
            "`redis-server --daemonize yes --bind 127.0.0.1 --port 6379`"
        )
    return None


@pytest.fixture(scope="module")
def redis_url() -> str:
    problem = redis_problem()
    if problem:
        pytest.skip(problem)
    return REDIS_URL


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[None]:
    """This test's Redis database, empty before and after (killed workers leave
    unacknowledged messages behind)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield
    client.flushdb()
    client.close()


@contextmanager
def default_database(path: Path) -> Iterator[None]:
    """Point this process's default connection at a SQLite file for a while."""
    original = connections["default"]
    settings_dict = dict(original.settings_dict)
    settings_dict["NAME"] = str(path)
    wrapper = type(original)(settings_dict, alias="default")
    connections["default"] = wrapper
    try:
        yield
    finally:
        wrapper.close()
        connections["default"] = original


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory, django_db_blocker) -> Path:
    path = tmp_path_factory.mktemp("jobs-db") / "db.sqlite3"
    with django_db_blocker.unblock(), default_database(path):
        call_command("migrate", verbosity=0)
    return path


def postgres_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


POSTGRES_URL = os.environ.get(
    "PORTAL_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_postgres(django_db_blocker) -> Iterator[str]:
    """A migrated PostgreSQL database of this test, as this process's default
    connection (a SQLite session's test on PostgreSQL); dropped afterwards."""
    import dj_database_url
    import psycopg
    from django.db.utils import load_backend

    name = f"portal_jobs_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL} ({exc})")
    admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    settings_dict = dict(connections["default"].settings_dict)
    settings_dict |= dj_database_url.parse(url)
    settings_dict["OPTIONS"] = {}
    backend = load_backend(settings_dict["ENGINE"])
    original = connections["default"]
    wrapper = backend.DatabaseWrapper(settings_dict, alias="default")
    connections["default"] = wrapper
    try:
        with django_db_blocker.unblock():
            call_command("migrate", verbosity=0)
            yield url
    finally:
        wrapper.close()
        connections["default"] = original
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def shared_db(request, tmp_path: Path, django_db_blocker) -> Iterator[dict[str, str]]:
    """A database the worker subprocess shares; yields the worker's env for it.

    Parametrised indirectly with ``"postgresql"``, a SQLite session runs the test
    on a scratch PostgreSQL database (skipped with the reason when none answers);
    with ``"sqlite"``, a PostgreSQL session skips it.
    """
    wanted = getattr(request, "param", connection.vendor)
    if connection.vendor == "postgresql":
        if wanted != "postgresql":
            pytest.skip("this session runs on PostgreSQL; the SQLite pass covers it")
        yield {"DATABASE_URL": postgres_url(connection.settings_dict)}
        return
    if connection.vendor != "sqlite":
        pytest.skip(f"no shared-database recipe for {connection.vendor}")
    if wanted == "postgresql":
        with scratch_postgres(django_db_blocker) as url:
            yield {"DATABASE_URL": url}
        return
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    shutil.copy(request.getfixturevalue("migrated_sqlite"), var_dir / "db.sqlite3")
    with django_db_blocker.unblock(), default_database(var_dir / "db.sqlite3"):
        # base.py opens VAR_DIR/db.sqlite3 with WAL and a busy timeout.
        yield {"PORTAL_VAR_DIR": str(var_dir)}


@pytest.fixture
def send_to_redis(redis_url: str, clean_redis: None) -> Iterator[None]:
    """This process sends tasks to Redis instead of running them in-process."""
    conf = celery_app.conf
    saved = {key: conf[key] for key in ("broker_url", "task_always_eager")}

    def reset_pools() -> None:
        # Connections are pooled per app and in kombu's registry: start afresh.
        kombu.pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    reset_pools()
    conf.update(broker_url=redis_url, task_always_eager=False)
    yield
    reset_pools()
    conf.update(saved)


def die_with_parent() -> None:
    """In the worker before exec: SIGKILL when this test process dies (Linux).

    A worker outliving a killed test run would take the next run's messages.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Worker:
    """A ``celery -A portal worker`` in its own process group, logging to a file."""

    def __init__(
        self, env: dict[str, str], log: Path, concurrency: int, queues: str
    ) -> None:
        self.log = log
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queues,
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"test-{os.getpid()}-{log.stem}@%h",
        ]
        self.handle = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_DIR,
            env=env,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )
        wait_for(
            lambda: b" ready." in log.read_bytes() or self.process.poll() is not None,
            WORKER_READY_SECONDS,
            self,
            "the worker to start",
        )
        assert self.process.poll() is None, self.tail()

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill_everything(self) -> None:
        """SIGKILL the whole worker (main process and pool): a machine dying."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_everything()
        self.handle.close()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_for(
    condition: Callable[[], bool], seconds: float, worker: Worker | None, what: str
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    log = worker.tail() if worker is not None else ""
    pytest.fail(
        f"timed out after {seconds} s waiting for {what}\n--- worker log:\n{log}"
    )


@pytest.fixture
def start_worker(
    shared_db: dict[str, str],
    send_to_redis: None,
    settings,
    imported_models_dir: Path,
    tmp_path: Path,
) -> Iterator[Callable[..., Worker]]:
    settings.MODELS_DIR = imported_models_dir
    # Queues of this test only: no other worker on this Redis can take its jobs.
    token = uuid.uuid4().hex[:8]
    settings.CELERY_TASK_DEFAULT_QUEUE = f"cpu-{token}"
    settings.JOB_GPU_QUEUE = f"gpu-{token}"
    queues = f"cpu-{token},gpu-{token}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= shared_db | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "REDIS_URL": REDIS_URL,
        "PORTAL_CPU_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PORTAL_GPU_QUEUE": settings.JOB_GPU_QUEUE,
        "PORTAL_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PORTAL_MODELS_DIR": str(imported_models_dir),
        "PORTAL_JOB_RETRY_SECONDS": "1",
    }
    started: list[Worker] = []

    def start(concurrency: int = 1, **extra_env: str) -> Worker:
        log = tmp_path / f"worker{len(started)}.log"
        worker = Worker(env | extra_env, log, concurrency, queues)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def queue(owner, samples_dir: Path, names: list[str], detector: str) -> list[int]:
    outcome = jobs.enqueue_detection_jobs(
        owner=owner,
        uploads=[photo(samples_dir, name) for name in names],
        detector_key=detector,
        score_threshold=None,
    )
    assert outcome.failures == []
    return [job.pk for job in outcome.jobs]


def all_finished(job_ids: list[int]) -> bool:
    finished = DetectionJob.objects.filter(
        pk__in=job_ids, state__in=["done", "failed"]
    ).count()
    return finished == len(job_ids)


def boxes(run: DemoRun) -> list[tuple[list[int], float]]:
    return [(d.box, d.score) for d in run.detections.order_by("rank")]


def test_job_round_trip_through_a_worker_matches_the_in_process_result(
    start_worker, samples_dir: Path, private_media: Path
) -> None:
    worker = start_worker()
    student = make_user(username="worker-student")

    (job_id,) = queue(student, samples_dir, ["people/cyclists.jpg"], "yolox-nano")
    wait_for(lambda: all_finished([job_id]), JOB_SECONDS, worker, "the job")
    celery_app.conf.task_always_eager = True  # the default without REDIS_URL
    try:
        (eager_id,) = queue(student, samples_dir, ["people/cyclists.jpg"], "yolox-nano")
    finally:
        celery_app.conf.task_always_eager = False

    job = DetectionJob.objects.get(pk=job_id)
    eager = DetectionJob.objects.get(pk=eager_id)
    assert job.state == "done", (job.detail, worker.tail())
    assert eager.state == "done"
    assert job.run.owner == student
    assert boxes(job.run) == boxes(eager.run)
    assert len(boxes(job.run)) > 0
    for name in ("image.jpg", "thumb.jpg"):
        assert (private_media / job.run.folder / name).is_file()
    assert not (private_media / job.folder).exists()


def test_worker_killed_mid_task_retries_the_job_into_exactly_one_run(
    start_worker, samples_dir: Path
) -> None:
    worker = start_worker()
    student = make_user(username="retry-student")
    # HOG on the largest photo: slow enough to be caught while running.
    (job_id,) = queue(
        student, samples_dir, ["people/two_women_phones.jpg"], "opencv-hog"
    )
    wait_for(
        lambda: DetectionJob.objects.filter(pk=job_id, state="running").exists(),
        JOB_SECONDS,
        worker,
        "the job to start",
    )

    # The pool process dies (OOM killer, segfault): the task is re-delivered.
    for pid in worker.children():
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all_finished([job_id]), JOB_SECONDS, worker, "the retried job")

    job = DetectionJob.objects.get(pk=job_id)
    assert job.state == "done", (job.detail, worker.tail())
    assert job.attempts == 2
    assert DemoRun.objects.filter(owner=student).count() == 1


def test_job_of_a_dead_worker_is_swept_and_finished_by_another(
    start_worker, samples_dir: Path
) -> None:
    first = start_worker()
    student = make_user(username="sweep-student")
    (job_id,) = queue(
        student, samples_dir, ["people/two_women_phones.jpg"], "opencv-hog"
    )
    wait_for(
        lambda: DetectionJob.objects.filter(pk=job_id, state="running").exists(),
        JOB_SECONDS,
        first,
        "the job to start",
    )

    first.kill_everything()
    time.sleep(0.5)
    stuck = DetectionJob.objects.get(pk=job_id)
    report = jobs.sweep_stale_jobs(older_than=timedelta(0))
    second = start_worker()
    wait_for(lambda: all_finished([job_id]), JOB_SECONDS, second, "the swept job")

    assert stuck.state == "running"
    assert [j.pk for j in report.requeued] == [job_id]
    job = DetectionJob.objects.get(pk=job_id)
    assert job.state == "done", (job.detail, second.tail())
    assert job.attempts == 2
    assert DemoRun.objects.filter(owner=student).count() == 1


def test_fifty_queued_photos_all_finish_with_matching_rows_and_files(
    start_worker, samples_dir: Path, private_media: Path
) -> None:
    worker = start_worker(concurrency=2)
    student = make_user(username="class-of-fifty")
    names = [PHOTOS[i % len(PHOTOS)] for i in range(50)]

    job_ids = queue(student, samples_dir, names, "yolox-nano")
    wait_for(lambda: all_finished(job_ids), 240, worker, "50 jobs")

    finished = list(DetectionJob.objects.filter(pk__in=job_ids).select_related("run"))
    assert [job.state for job in finished] == ["done"] * 50, worker.tail()
    runs = DemoRun.objects.filter(owner=student)
    assert runs.count() == 50
    assert {job.run_id for job in finished} == set(runs.values_list("pk", flat=True))
    assert sorted(job.original_name for job in finished) == sorted(
        Path(name).name for name in names
    )
    for run in runs.prefetch_related("detections"):
        folder = private_media / run.folder
        assert sorted(p.name for p in folder.iterdir()) == ["image.jpg", "thumb.jpg"]
    images = (private_media / "runs").glob("*/*/image.jpg")
    stored = {path.parent.name for path in images}
    assert stored == {str(run.public_id) for run in runs}
    assert list((private_media / "jobs").rglob("upload")) == []


LOCK_SECONDS = 3


@contextmanager
def write_lock_held(seconds: float) -> Iterator[None]:
    """Another client holds the database's write lock for ``seconds``, starting
    now (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the jobs table locked against
    ``SELECT ... FOR UPDATE`` and writes). Yields once the lock is held."""
    taken = threading.Event()
    failure: list[BaseException] = []
    # Read here: a thread sees its own connections, not this test's.
    vendor, settings_dict = connection.vendor, connection.settings_dict

    def hold() -> None:
        try:
            if vendor == "sqlite":
                import sqlite3

                db = sqlite3.connect(settings_dict["NAME"], isolation_level=None)
                db.execute("BEGIN IMMEDIATE")
            else:
                import psycopg

                db = psycopg.connect(postgres_url(settings_dict))
                db.execute(
                    f"LOCK TABLE {DetectionJob._meta.db_table} IN EXCLUSIVE MODE"
                )
            taken.set()
            time.sleep(seconds)
            db.execute("ROLLBACK")
            db.close()
        except BaseException as exc:  # reported by the test, not lost in a thread
            failure.append(exc)
            taken.set()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    taken.wait(30)
    assert not failure, failure
    try:
        yield
    finally:
        thread.join(seconds + 30)
        assert not failure, failure


@pytest.mark.parametrize("shared_db", ["sqlite", "postgresql"], indirect=True)
def test_jobs_whose_claim_meets_a_locked_database_are_retried_to_one_run_each(
    start_worker, samples_dir: Path, monkeypatch
) -> None:
    # Each worker waits for a lock at most 1 s (SQLite's busy timeout, or
    # PostgreSQL's lock_timeout), the lock is held 3 s: every claim made while
    # it is held fails with a database error, as a long write on a busy
    # database does; each must come back as a retry, not a job left queued.
    patience = {"PORTAL_SQLITE_TIMEOUT": "1", "PGOPTIONS": "-c lock_timeout=1000"}
    workers = [start_worker(**patience), start_worker(**patience)]
    student = make_user(username="locked-out-class")
    names = PHOTOS[:6]
    sent: list[tuple[int, str]] = []
    # Rows commit first; the messages go out once the lock is held, so the
    # workers' claims meet it (dispatch_job itself runs unchanged).
    send = jobs.dispatch_job
    monkeypatch.setattr(jobs, "dispatch_job", lambda *args: sent.append(args))
    job_ids = queue(student, samples_dir, names, "yolox-nano")
    assert len(sent) == len(job_ids)

    with write_lock_held(LOCK_SECONDS):
        for args in sent:
            send(*args)
        time.sleep(LOCK_SECONDS / 2)
        during = list(DetectionJob.objects.filter(pk__in=job_ids))
    log = "\n".join(worker.tail() for worker in workers)
    wait_for(lambda: all_finished(job_ids), JOB_SECONDS, workers[0], "locked jobs")

    assert {job.state for job in during} == {"queued"}
    finished = list(DetectionJob.objects.filter(pk__in=job_ids))
    assert [job.state for job in finished] == ["done"] * len(names), log
    assert all(job.attempts >= 1 for job in finished)
    runs = DemoRun.objects.filter(owner=student)
    assert runs.count() == len(names)
    assert {job.run_id for job in finished} == set(runs.values_list("pk", flat=True))
    assert not DetectionJob.objects.filter(state="queued").exists()


@pytest.mark.parametrize("shared_db", ["sqlite", "postgresql"], indirect=True)
def test_jobs_wait_out_a_short_lock_with_the_default_timeout_in_one_attempt(
    start_worker, samples_dir: Path, monkeypatch
) -> None:
    workers = [start_worker(), start_worker()]
    student = make_user(username="patient-class")
    names = PHOTOS[6:10]
    sent: list[tuple[int, str]] = []
    send = jobs.dispatch_job
    monkeypatch.setattr(jobs, "dispatch_job", lambda *args: sent.append(args))
    job_ids = queue(student, samples_dir, names, "yolox-nano")

    with write_lock_held(LOCK_SECONDS):
        for args in sent:
            send(*args)
    wait_for(lambda: all_finished(job_ids), JOB_SECONDS, workers[1], "the jobs")

    finished = list(DetectionJob.objects.filter(pk__in=job_ids))
    log = "\n".join(worker.tail() for worker in workers)
    assert [job.state for job in finished] == ["done"] * len(names), log
    # The busy timeout (20 s) outlasts the lock: nobody needed a retry.
    assert [job.attempts for job in finished] == [1] * len(names), log
    assert DemoRun.objects.filter(owner=student).count() == len(names)
