"""``manage.py sweep_jobs``: settle detection jobs whose worker died; tidy uploads.

Jobs ``running`` longer than the hard time limit (or ``--older-than`` seconds)
are queued again, or failed after the last attempt; jobs no worker picked up
within ``JOB_QUEUED_TIMEOUT`` fail with the reason; uploads of finished jobs
are removed. Run it every minute from cron or a systemd timer, or let
``celery -A portal beat`` run the same sweep. ``--dry-run`` only lists.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demos.people.jobs import services as jobs


class Command(BaseCommand):
    help = "Re-queue or fail detection jobs stuck in 'running'; remove old uploads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=None,
            help="Seconds a job may stay running (default: the hard time limit + 60).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would change; do nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["older_than"]
        report = jobs.sweep_stale_jobs(
            older_than=None if seconds is None else timedelta(seconds=seconds),
            dry_run=options["dry_run"],
        )
        if options["verbosity"] >= 2:
            for job in report.requeued:
                self.stdout.write(f"  re-queue {job.public_id} ({job.original_name})")
            for job in report.failed:
                self.stdout.write(f"  fail {job.public_id} ({job.original_name})")
            for path in report.removed:
                self.stdout.write(f"  remove {path}")
        verb = "Would re-queue" if options["dry_run"] else "Re-queued"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(report.requeued)} job(s), "
                f"failed {len(report.failed)}, "
                f"removed {len(report.removed)} upload folder(s)."
            )
        )
