"""``manage.py cleanup_media``: delete expired runs and orphan files.

Runs older than ``settings.RETENTION_DAYS`` (or ``--days``) are deleted with
their files; then files and folders under ``MEDIA_ROOT/runs`` that no run owns
are removed, and so are cached feature maps of uploaded photos past the same
retention (``demos/common/retention.py``). ``--dry-run`` only lists what would go.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from demos.common import retention
from demos.people import services


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
        expired = (
            services.delete_expired_runs(older_than_days=days, dry_run=dry_run)
            if days > 0
            else []
        )
        orphans = services.remove_orphan_files(dry_run=dry_run)
        caches = retention.remove_expired_user_caches(
            older_than_days=days, dry_run=dry_run
        )
        if options["verbosity"] >= 2:
            for folder in expired:
                self.stdout.write(f"  run {folder}")
            for path in orphans:
                self.stdout.write(f"  orphan {path}")
            for path in caches:
                self.stdout.write(f"  feature maps {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(expired)} expired run(s) "
                f"and {len(orphans)} orphan path(s)."
            )
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(caches)} expired feature-map folder(s) of uploads."
            )
        )
