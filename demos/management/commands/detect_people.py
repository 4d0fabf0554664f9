"""``manage.py detect_people PHOTO...``: count and crop the people in photos.

For students at a terminal: nothing is stored in the database. Crops go to
``--out`` (one folder per photo); the count per photo is printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demos.people import derived, services
from portal.lib.errors import BadInput, ServiceUnavailable


class Command(BaseCommand):
    help = "Detect, count and crop every person in one or more photos (no DB rows)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO")
        parser.add_argument(
            "--detector", default=None, help="Detector key (default: the portal's)."
        )
        parser.add_argument(
            "--threshold",
            type=float,
            default=None,
            help="Score threshold 0-1 (default: the detector's).",
        )
        parser.add_argument(
            "--out",
            type=Path,
            default=Path("people_crops"),
            help="Crops folder, one subfolder per photo (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        used: set[str] = set()
        for photo in options["photos"]:
            try:
                result = services.find_people(
                    data=photo.read_bytes(),
                    detector_key=options["detector"],
                    score_threshold=options["threshold"],
                )
            except (OSError, BadInput) as exc:
                failed += 1
                self.stderr.write(self.style.ERROR(f"{photo}: {exc}"))
                continue
            except ServiceUnavailable as exc:
                raise CommandError(str(exc)) from exc
            # Photos with the same stem (a/x.jpg, b/x.jpg) get their own folders.
            name = photo.stem
            while name in used:
                name += "_"
            used.add(name)
            paths = derived.write_crops(result, options["out"] / name)
            self.stdout.write(
                self.style.SUCCESS(f"{photo}: {len(result.persons)}")
                + f"  ({result.detector_key}, threshold {result.score_threshold:.2f},"
                f" {result.elapsed_ms:.0f} ms)"
            )
            if options["verbosity"] >= 2:
                for path, box in zip(paths, result.persons, strict=True):
                    self.stdout.write(
                        f"  {path}  box={[box.x1, box.y1, box.x2, box.y2]}"
                        f"  score={box.score:.3f}"
                    )
        if failed:
            raise CommandError(f"{failed} photo(s) could not be processed.")
