"""``manage.py cleanup_media``: delete expired runs and orphan files.

Runs older than ``settings.RETENTION_DAYS`` (or ``--days``) are deleted with
their files; then the one sweeper (``demos/common/sweeper.py``) removes what no
owner references any more: run folders without a run, uploads of finished
detection jobs, transfer runs' files without a run (and their ZIPs once they
ended), and cached feature maps of uploaded photos past the same retention.
``--dry-run`` only lists what would go. The hourly task ``demos.tasks.cleanup_media``
runs the same sweep.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

import demos.tasks  # noqa: F401  (imports, and so registers, every owner of files)
from demos.common import sweeper


class Command(BaseCommand):
    help = "Delete person-demo runs past the retention period and orphan media files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Delete runs older than this many days "
            "(default: settings.RETENTION_DAYS; 0 keeps every run).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would go; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        days = (
            options["days"] if options["days"] is not None else settings.RETENTION_DAYS
        )
        verb = "Would delete" if dry_run else "Deleted"
        results = sweeper.sweep(retention_days=days, dry_run=dry_run)
        for result in results.values():
            if options["verbosity"] >= 2:
                for folder in result.expired:
                    self.stdout.write(f"  run {folder}")
                for path in result.removed:
                    self.stdout.write(f"  {result.owner.item} {path}")
            counts = {"expired": len(result.expired), "removed": len(result.removed)}
            summary = result.owner.summary.format(**counts)
            self.stdout.write(self.style.SUCCESS(f"{verb} {summary}"))
