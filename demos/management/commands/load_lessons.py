"""``manage.py load_lessons``: load the Markdown course into the database.

Idempotent (``make run`` calls it every time): new lessons are created,
changed ones updated, identical ones left alone. Lessons no longer in the files
are kept, with their students' progress, unless ``--prune`` is given.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demos.lessons.loading import LessonFormatError
from demos.lessons.services import LESSONS_DIR, load_lessons


class Command(BaseCommand):
    help = (
        "Load the lessons (<NN>-<slug>.<lang>.md files) into the database; "
        "safe to run again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dir",
            type=Path,
            default=LESSONS_DIR,
            help=f"folder with the lesson files (default: {LESSONS_DIR})",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="delete lessons that are no longer in the files, with their progress",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="report what would change without writing anything",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["dir"]
        if not directory.is_dir():
            raise CommandError(f"No lesson folder at {directory}.")
        try:
            report = load_lessons(
                directory=directory,
                prune=options["prune"],
                dry_run=options["dry_run"],
            )
        except LessonFormatError as exc:
            raise CommandError(str(exc)) from exc
        verbosity = options["verbosity"]
        if verbosity >= 2:
            for label, slugs in (
                ("created", report.created),
                ("updated", report.updated),
                ("unchanged", report.unchanged),
            ):
                for slug in slugs:
                    self.stdout.write(f"  {label}: {slug}")
        for slug in report.kept:
            self.stdout.write(
                self.style.WARNING(
                    f"Kept lesson {slug!r}: it is not in the files any more "
                    "(use --prune to delete it and its progress)."
                )
            )
        for slug in report.removed:
            self.stdout.write(self.style.WARNING(f"Removed lesson {slug!r}."))
        if verbosity >= 1:
            prefix = "Dry run, nothing written: " if options["dry_run"] else "Lessons: "
            self.stdout.write(
                self.style.SUCCESS(
                    f"{prefix}{len(report.created)} created, "
                    f"{len(report.updated)} updated, "
                    f"{len(report.unchanged)} unchanged"
                    + (f", {len(report.removed)} removed" if report.removed else "")
                    + "."
                )
            )
