"""The class page's downloads: the CSV and the Excel file carry the same rows,
times in the class's time zone, for the class's instructor only."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from urllib.parse import quote

import openpyxl
import pytest
from django.test import Client

from accounts.models import User
from demos.models import Lesson, LessonProgress
from demos.teach.exports import sheet_title
from tests.factories import make_quiz_score, make_user

pytestmark = pytest.mark.django_db

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def progress(course, cohort, students) -> None:
    """Minji (민지) finished the convolution lesson at 15:30 UTC and tried its
    quiz twice; the class is in Seoul."""
    minji = students[0]
    User.objects.filter(pk=minji.pk).update(display_name="김민지")
    conv = Lesson.objects.get(slug="convolution")
    mark = LessonProgress.objects.create(user=minji, lesson=conv)
    LessonProgress.objects.filter(pk=mark.pk).update(
        completed_at=datetime(2026, 3, 2, 15, 30, tzinfo=UTC)
    )
    make_quiz_score(
        user=minji, lesson=conv, best_score=4, last_score=3, total=5, attempts=2
    )


def xlsx_rows(response) -> tuple[list, list[list]]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:]


def test_the_xlsx_has_the_csvs_rows_with_real_dates_and_numbers(
    progress, teacher_client, cohort
) -> None:
    base = f"/teach/classes/{cohort.public_id}"
    response = teacher_client.get(f"{base}/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    header, rows = xlsx_rows(response)
    text = teacher_client.get(f"{base}/export.csv").content.decode("utf-8-sig")
    csv_rows = list(csv.reader(io.StringIO(text)))
    assert header == csv_rows[0]
    assert len(rows) == len(csv_rows) - 1 == 3 * 15

    def as_csv(value) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds") + "+09:00"  # Seoul
        return str(value)

    assert [[as_csv(v) for v in row] for row in rows] == csv_rows[1:]

    minji = next(r for r in rows if r[0] == "minji" and r[3] == "convolution")
    row = dict(zip(header, minji, strict=True))
    assert row["display_name"] == "김민지"
    assert row["done"] == "yes"
    # 15:30 UTC is 00:30 the next day in Seoul; Excel gets it without a zone.
    assert row["done_at"] == datetime(2026, 3, 3, 0, 30)
    assert (row["quiz_best"], row["quiz_total"], row["quiz_attempts"]) == (4, 5, 2)
    assert all(isinstance(row[k], int) for k in ("lesson_order", "quiz_best"))


def test_the_xlsx_is_laid_out_for_reading(progress, teacher_client, cohort) -> None:
    cohort.name = "CNN 1기: 오전/오후 반 [서울] 2026년 봄 학기 전체"
    cohort.save(update_fields=["name"])
    response = teacher_client.get(f"/teach/classes/{cohort.public_id}/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "CNN 1기- 오전-오후 반 -서울- 2026년 봄 학기"
    assert len(sheet.title) == 31
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    done_at = next(c for c in sheet["F"][1:] if c.value is not None)
    assert done_at.is_date and done_at.number_format == "yyyy-mm-dd hh:mm:ss"
    widths = {k: d.width for k, d in sheet.column_dimensions.items()}
    assert widths["F"] >= len("2026-03-03 00:30:00")  # the time shows whole
    assert widths["B"] >= len("display_name")
    disposition = response["Content-Disposition"]
    assert disposition.startswith(
        f'attachment; filename="class-{cohort.join_code}-progress.xlsx"; '
    )
    shown = "CNN 1기- 오전-오후 반 [서울] 2026년 봄 학기 전체"
    utf8 = f"{shown}-{cohort.join_code}-progress.xlsx"
    assert disposition.endswith(f"filename*=UTF-8''{quote(utf8, safe='')}")


@pytest.mark.parametrize(
    ("name", "title"),
    [("반", "반"), ("a/b\\c?d*e[f]g:h", "a-b-c-d-e-f-g-h"), ("'", "progress")],
)
def test_sheet_titles_keep_to_excels_rules(name, title) -> None:
    assert sheet_title(name) == title


def test_only_the_classes_instructor_gets_the_xlsx(
    course, cohort, logged_in_client, client
) -> None:
    url = f"/teach/classes/{cohort.public_id}/export.xlsx"
    other = Client()
    other.force_login(make_user(username="t2", is_staff=True))
    assert other.get(url).status_code == 403
    assert logged_in_client.get(url).status_code == 403
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_class_page_offers_both_downloads_in_korean(
    course, teacher_client, cohort
) -> None:
    teacher_client.cookies["django_language"] = "ko"
    body = teacher_client.get(f"/teach/classes/{cohort.public_id}/").content.decode()
    assert "CSV 내보내기" in body and "XLSX 내보내기" in body
    assert f"/teach/classes/{cohort.public_id}/export.xlsx" in body


# session, user, class, instructor check, grid 4 (the class page's grid queries)
EXPORT_QUERIES = 8


def test_the_xlsx_of_60_students_takes_as_few_queries_as_the_grid(
    class_of_60, teacher_client, cohort, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(EXPORT_QUERIES):
        response = teacher_client.get(f"/teach/classes/{cohort.public_id}/export.xlsx")
    _, rows = xlsx_rows(response)
    assert len(rows) == 60 * Lesson.objects.count()


def test_the_urlconf_leaves_openpyxl_unloaded() -> None:
    """A web worker that never exports never pays for openpyxl."""
    code = (
        "import sys, django; django.setup(); "
        "from django.urls import get_resolver; get_resolver().url_patterns; "
        "print('openpyxl' in sys.modules)"
    )
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_display_name_that_looks_like_a_formula_stays_text(
    course, cohort, students, teacher_client
) -> None:
    trap = '=HYPERLINK("http://evil.example","점수 보기")'
    User.objects.filter(pk=students[0].pk).update(display_name=trap)
    base = f"/teach/classes/{cohort.public_id}"
    text = teacher_client.get(f"{base}/export.csv").content.decode("utf-8-sig")
    names = {row[1] for row in list(csv.reader(io.StringIO(text)))[1:]}
    assert "'" + trap in names and trap not in names
    book = openpyxl.load_workbook(
        io.BytesIO(teacher_client.get(f"{base}/export.xlsx").content)
    )
    cells = [row[1] for row in book.active.iter_rows(min_row=2)]
    trapped = [cell for cell in cells if cell.value == trap]
    assert trapped and all(cell.data_type == "s" for cell in trapped)
