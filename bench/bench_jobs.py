"""Detection jobs on Celery workers: throughput with 1, 2, 4 worker processes, latency.

Usage::

    .venv/bin/python bench/bench_jobs.py [--jobs 48] [--workers 1 2 4]
        [--detector yolox-nano] [--idle 10] [--database-url URL]

For each worker count N it starts one ``celery -A portal worker --concurrency N``
(prefork: N processes, each building its model once) and warms every process up.
Throughput: ``--jobs`` photos (the 16 shared samples in turn) are queued while the
worker is told not to consume (``cancel_consumer``), then released
(``add_consumer``); jobs per second is ``--jobs`` over release → last finish, and
the scaling ratio compares it with one process. Queue latency (a job's
``created`` → ``started``, enqueue to a worker picking it up) at p50/p95 is
measured for a second burst queued while the worker consumes (this script is the
one "web process" enqueuing; its rate is printed too) and for ``--idle`` photos
sent one at a time to an idle worker.

Needs Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/12``; its queues get
a per-run name, so nothing else is disturbed). The database is a scratch SQLite
file (WAL, like the portal's default) in a temporary folder, or
``--database-url`` (an empty scratch PostgreSQL database; migrated, left there).
A measurement, not a test: it prints and never fails a build.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("PORTAL_SHARED_DIR", REPO_DIR.parent / "shared"))
SAMPLES = sorted(
    p
    for folder in ("people", "nobody")
    for p in (SHARED_DIR / "samples" / folder).iterdir()
    if p.suffix in (".jpg", ".png")
)


def die_with_parent() -> None:
    """Worker: SIGKILL if this script dies, so no worker outlives the benchmark."""
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "-Q",
        f"{env['PORTAL_CPU_QUEUE']},{env['PORTAL_GPU_QUEUE']}",
        "--concurrency",
        str(concurrency),
        "--pool",
        "prefork",
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--hostname",
        f"bench-{concurrency}@%h",
    ]
    handle = log.open("wb")
    process = subprocess.Popen(
        command,
        cwd=REPO_DIR,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent if sys.platform == "linux" else None,
    )
    return process


def stop_worker(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=48)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--detector", default="yolox-nano")
    parser.add_argument("--idle", type=int, default=10)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-jobs-"))
    token = uuid.uuid4().hex[:8]
    env_vars = {
        "DJANGO_SETTINGS_MODULE": "portal.settings.dev",
        "PORTAL_DEBUG": "false",
        "PORTAL_LOG_LEVEL": "WARNING",
        "PORTAL_VAR_DIR": str(scratch / "var"),
        "PORTAL_MODELS_DIR": str(scratch / "models"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
        "PORTAL_CPU_QUEUE": f"bench-cpu-{token}",
        "PORTAL_GPU_QUEUE": f"bench-gpu-{token}",
    }
    if args.database_url:
        env_vars["DATABASE_URL"] = args.database_url
    os.environ.update(env_vars)
    (scratch / "var").mkdir()
    sys.path.insert(0, str(REPO_DIR))

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from demos.models import DetectionJob
    from demos.people.jobs import services as jobs
    from models_store import store
    from portal.celery import app as celery_app

    call_command("migrate", verbosity=0)
    store.import_path(SHARED_DIR / "weights", record=False)
    owner = User.objects.create_user(f"bench-{token}", password=None)
    cpu_queue = os.environ["PORTAL_CPU_QUEUE"]

    def control(command: Callable[..., list], queue_name: str) -> None:
        replies = command(queue_name, reply=True, timeout=10)
        if not replies:
            raise SystemExit(f"no worker answered {command.__name__}({queue_name})")

    photos = [(p.name, p.read_bytes()) for p in SAMPLES]
    worker_env = {**os.environ}

    def queue(count: int, offset: int = 0) -> list[int]:
        uploads = [
            SimpleUploadedFile(*photos[(offset + i) % len(photos)])
            for i in range(count)
        ]
        outcome = jobs.enqueue_detection_jobs(
            owner=owner,
            uploads=uploads,
            detector_key=args.detector,
            score_threshold=None,
        )
        return [job.pk for job in outcome.jobs]

    def wait(job_ids: list[int], seconds: float = 900) -> list[DetectionJob]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rows = list(DetectionJob.objects.filter(pk__in=job_ids))
            if all(job.is_finished for job in rows):
                failed = [job.detail for job in rows if job.state == "failed"]
                if failed:
                    raise SystemExit(f"{len(failed)} job(s) failed: {failed[0]}")
                return rows
            time.sleep(0.05)
        raise SystemExit(f"timed out waiting for {len(job_ids)} jobs")

    results = []
    try:
        for count in args.workers:
            log = scratch / f"worker-{count}.log"
            process = start_worker(worker_env, count, log)
            try:
                # Warm-up: every pool process builds its model before timing.
                wait(queue(4 * count))
                # Throughput of the workers alone: the photos are queued while
                # the worker does not consume, then it is let loose on them.
                control(celery_app.control.cancel_consumer, cpu_queue)
                held = queue(args.jobs, offset=count)
                released = timezone.now()
                control(celery_app.control.add_consumer, cpu_queue)
                done = wait(held)
                seconds = (max(j.finished for j in done) - released).total_seconds()
                # Queue latency while photos keep arriving (enqueue → started).
                burst = wait(queue(args.jobs, offset=2 * count))
                waits = [(j.started - j.created).total_seconds() for j in burst]
                created = [j.created for j in burst]
                enqueue_rate = len(burst) / max(
                    1e-9, (max(created) - min(created)).total_seconds()
                )
                idle = []
                for index in range(args.idle):
                    (job,) = wait(queue(1, offset=index))
                    idle.append((job.started - job.created).total_seconds())
            finally:
                stop_worker(process)
            results.append(
                {
                    "workers": count,
                    "seconds": seconds,
                    "rate": args.jobs / seconds,
                    "burst_p50": percentile(waits, 50),
                    "burst_p95": percentile(waits, 95),
                    "idle_p50": percentile(idle, 50),
                    "idle_p95": percentile(idle, 95),
                    "enqueue_rate": enqueue_rate,
                }
            )
            print(f"{count} worker process(es): {args.jobs / seconds:.2f} jobs/s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    base = results[0]["rate"]
    print(
        f"\n{args.jobs} jobs per run, detector {args.detector}, "
        f"database {'PostgreSQL' if args.database_url else 'SQLite (WAL)'}, "
        f"{os.cpu_count()} CPUs\n"
    )
    print(
        "| worker processes | wall (s) | jobs/s | scaling vs 1 "
        "| queue latency p50 / p95, burst (s) | p50 / p95, idle (ms) "
        "| enqueue rate (jobs/s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for row in results:
        print(
            f"| {row['workers']} | {row['seconds']:.1f} | {row['rate']:.2f} "
            f"| {row['rate'] / base:.2f}x "
            f"| {row['burst_p50']:.1f} / {row['burst_p95']:.1f} "
            f"| {row['idle_p50'] * 1000:.0f} / {row['idle_p95'] * 1000:.0f} "
            f"| {row['enqueue_rate']:.1f} |"
        )


if __name__ == "__main__":
    main()
