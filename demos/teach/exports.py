"""The class's progress as CSV: one row per student and lesson, with every time
in the class's own time zone (ISO 8601 with its offset), so a spreadsheet opened
in Seoul shows Seoul times."""

from __future__ import annotations

import csv
import io
import zoneinfo
from datetime import datetime

from accounts.models import Cohort
from demos.teach.selectors import ClassGrid

HEADER = (
    "username",
    "display_name",
    "lesson_order",
    "lesson",
    "done",
    "done_at",
    "quiz_best",
    "quiz_total",
    "quiz_attempts",
    "quiz_passed",
    "last_active",
    "stuck",
)


def local_time(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    """``moment`` in ``zone`` as ISO 8601 to the second ("" for None)."""
    return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""


def progress_csv(cohort: Cohort, grid: ClassGrid) -> str:
    """The grid as CSV text (UTF-8 BOM first, so Excel reads the Korean names)."""
    zone = zoneinfo.ZoneInfo(cohort.time_zone)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in grid.rows:
        for lesson, cell in zip(grid.lessons, row.cells, strict=True):
            tried = cell.best_score is not None
            writer.writerow(
                (
                    row.student.username,
                    row.student.display_name,
                    lesson.order,
                    lesson.slug,
                    "yes" if cell.done else "no",
                    local_time(cell.done_at, zone),
                    cell.best_score if tried else "",
                    cell.total if tried else "",
                    cell.attempts if tried else "",
                    ("yes" if cell.passed else "no") if tried else "",
                    local_time(row.last_active, zone),
                    " ".join(row.stuck),
                )
            )
    return out.getvalue()
