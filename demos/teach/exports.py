"""The class's progress as CSV or Excel: one row per student and lesson, with
every time in the class's own time zone, so a spreadsheet opened in Seoul shows
Seoul times. Both files are written from the same rows (``progress_rows``)."""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

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

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel's date-time display; the cell holds a real date, so it sorts and filters.
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Excel refuses these in a sheet name and names longer than 31 characters
# (character tables, not regexes: class names are user text).
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "-"))
SHEET_TITLE_MAX = 31
# Characters no file system or browser keeps in a downloaded file's name.
_FILENAME_FORBIDDEN = str.maketrans(
    dict.fromkeys([*map(chr, range(32)), "\x7f", *'\\/:*?"<>|'], "-")
)


def local_time(moment: datetime | None, zone: zoneinfo.ZoneInfo) -> datetime | None:
    """``moment`` in ``zone``, to the second (None stays None)."""
    return moment.astimezone(zone).replace(microsecond=0) if moment else None


def progress_rows(cohort: Cohort, grid: ClassGrid) -> Iterator[tuple[Any, ...]]:
    """The grid as rows under ``HEADER``: numbers as ints, times as aware
    datetimes in the class's zone, None where nothing is known yet."""
    zone = zoneinfo.ZoneInfo(cohort.time_zone)
    for row in grid.rows:
        last_active = local_time(row.last_active, zone)
        for lesson, cell in zip(grid.lessons, row.cells, strict=True):
            tried = cell.best_score is not None
            yield (
                row.student.username,
                row.student.display_name,
                lesson.order,
                lesson.slug,
                "yes" if cell.done else "no",
                local_time(cell.done_at, zone),
                cell.best_score if tried else None,
                cell.total if tried else None,
                cell.attempts if tried else None,
                ("yes" if cell.passed else "no") if tried else None,
                last_active,
                " ".join(row.stuck),
            )


# A cell a spreadsheet would read as a formula (a display name such as
# '=HYPERLINK(...)' is student-typed text): CSV gets a leading apostrophe, as
# OWASP's CSV-injection advice says; Excel cells are written as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")  # with the zone's offset
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def progress_csv(cohort: Cohort, grid: ClassGrid) -> str:
    """The grid as CSV text (UTF-8 BOM first, so Excel reads the Korean names)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for row in progress_rows(cohort, grid):
        writer.writerow([_csv_value(value) for value in row])
    return out.getvalue()


def sheet_title(name: str) -> str:
    """``name`` as an Excel sheet name: no []:*?/\\, at most 31 characters."""
    title = name.translate(_SHEET_FORBIDDEN).strip().strip("'")[:SHEET_TITLE_MAX]
    return title or "progress"


def _column_width(values: Sequence[Any]) -> float:
    """Characters wide enough for the longest value (Hangul counts double)."""
    widest = 0
    for value in values:
        if isinstance(value, datetime):
            text = "0000-00-00 00:00:00"
        else:
            text = "" if value is None else str(value)
        widest = max(widest, sum(2 if ord(ch) > 0x2E7F else 1 for ch in text))
    return min(widest + 2, 60)


def export_filename(cohort: Cohort, extension: str) -> tuple[str, str]:
    """An ASCII name (the join code) and a UTF-8 one with the class's name, for
    ``Content-Disposition``'s filename and RFC 5987 filename*."""
    ascii_name = f"class-{cohort.join_code}-progress.{extension}"
    shown = cohort.name.translate(_FILENAME_FORBIDDEN).strip(" .-") or "class"
    return ascii_name, f"{shown}-{cohort.join_code}-progress.{extension}"


def progress_xlsx(cohort: Cohort, grid: ClassGrid) -> bytes:
    """The grid as an Excel workbook: bold header, frozen below it, real dates
    (naive, in the class's zone: Excel has no time zones) and real numbers."""
    # openpyxl is loaded on the first Excel export only, never with the URLconf.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = [
        tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)
        for row in progress_rows(cohort, grid)
    ]
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new Workbook always has one sheet
    sheet.title = sheet_title(cohort.name)
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for index, name in enumerate(HEADER):
        column = [name, *(row[index] for row in rows)]
        width = _column_width(column)
        sheet.column_dimensions[get_column_letter(index + 1)].width = width
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, datetime):
                cell.number_format = XLSX_DATETIME_FORMAT
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula (openpyxl makes '=…' one)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
