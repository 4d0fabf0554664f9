"""``manage.py load_lessons`` loads the Markdown course, idempotently."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from demos.lessons.services import LESSONS_DIR, mark_lesson_done
from demos.models import Lesson, LessonProgress

pytestmark = pytest.mark.django_db


def load(*args: str) -> str:
    out = StringIO()
    call_command("load_lessons", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A private copy of the course that a test may edit."""
    folder = tmp_path / "lessons"
    shutil.copytree(LESSONS_DIR, folder)
    return folder


def write(folder: Path, name: str, title: str, order: int, body: str = "Text.") -> None:
    (folder / name).write_text(
        f"---\ntitle: {title}\nsummary: s\nwidget: w\norder: {order}\n---\n{body}\n",
        encoding="utf-8",
    )


def test_first_run_creates_all_fifteen_lessons_in_both_languages() -> None:
    output = load()
    assert "15 created, 0 updated, 0 unchanged" in output
    lessons = list(Lesson.objects.order_by("order"))
    assert [lesson.order for lesson in lessons] == list(range(1, 16))
    convolution = lessons[0]
    assert convolution.slug == "convolution"
    assert convolution.widget == "kernel-playground"
    assert convolution.title_ko.startswith("합성곱")
    assert "Sobel" in convolution.body_en and "Sobel" in convolution.body_ko
    assert not convolution.body_en.startswith("---")


def test_second_run_changes_nothing_and_keeps_update_times() -> None:
    load()
    before = dict(Lesson.objects.values_list("slug", "updated"))
    output = load()
    assert "0 created, 0 updated, 15 unchanged" in output
    assert Lesson.objects.count() == 15
    assert dict(Lesson.objects.values_list("slug", "updated")) == before


def test_edited_text_is_updated_in_place_and_progress_survives(
    course_copy: Path, user
) -> None:
    load("--dir", str(course_copy))
    pooling = Lesson.objects.get(slug="pooling")
    mark_lesson_done(user=user, lesson=pooling)
    path = course_copy / "03-pooling.en.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "title: Pooling, flatten and dense layers", "title: Pooling"
        ),
        encoding="utf-8",
    )
    output = load("--dir", str(course_copy))
    assert "0 created, 1 updated, 14 unchanged" in output
    pooling.refresh_from_db()
    assert pooling.title_en == "Pooling"
    assert Lesson.objects.filter(slug="pooling").count() == 1
    assert LessonProgress.objects.filter(user=user, lesson=pooling).exists()


def test_reordered_lessons_swap_places_without_breaking_unique_orders(
    course_copy: Path,
) -> None:
    load("--dir", str(course_copy))
    for lang in ("en", "ko"):
        first = course_copy / f"01-convolution.{lang}.md"
        second = course_copy / f"02-stride-padding.{lang}.md"
        first.write_text(
            first.read_text(encoding="utf-8").replace("order: 1", "order: 2"),
            encoding="utf-8",
        )
        second.write_text(
            second.read_text(encoding="utf-8").replace("order: 2", "order: 1"),
            encoding="utf-8",
        )
        first.rename(course_copy / f"02-convolution.{lang}.md")
        second.rename(course_copy / f"01-stride-padding.{lang}.md")
    output = load("--dir", str(course_copy))
    assert "0 created, 2 updated, 13 unchanged" in output
    assert list(Lesson.objects.order_by("order").values_list("slug", flat=True))[
        :2
    ] == ["stride-padding", "convolution"]


def test_a_lesson_gone_from_the_files_is_kept_with_progress_unless_pruned(
    tmp_path: Path, user
) -> None:
    for lang in ("en", "ko"):
        write(tmp_path, f"01-old.{lang}.md", "Old", 1)
        write(tmp_path, f"02-kept.{lang}.md", "Kept", 2)
    load("--dir", str(tmp_path))
    old = Lesson.objects.get(slug="old")
    mark_lesson_done(user=user, lesson=old)
    for lang in ("en", "ko"):
        (tmp_path / f"01-old.{lang}.md").unlink()
        write(tmp_path, f"01-new.{lang}.md", "New", 1)

    output = load("--dir", str(tmp_path))
    assert "Kept lesson 'old'" in output
    assert "1 created, 0 updated, 1 unchanged" in output
    old.refresh_from_db()
    assert old.order > 2  # moved after the course, out of the new lesson's way
    assert LessonProgress.objects.filter(lesson=old).count() == 1

    output = load("--dir", str(tmp_path), "--prune", "--dry-run")
    assert "Dry run, nothing written" in output and "Removed lesson 'old'" in output
    assert Lesson.objects.filter(slug="old").exists()
    output = load("--dir", str(tmp_path), "--prune")
    assert "Removed lesson 'old'" in output
    assert not Lesson.objects.filter(slug="old").exists()
    assert LessonProgress.objects.count() == 0


def test_dry_run_reports_but_writes_nothing() -> None:
    output = load("--dry-run")
    assert "Dry run, nothing written: 15 created" in output
    assert Lesson.objects.count() == 0


def test_verbose_run_lists_every_slug() -> None:
    out = StringIO()
    call_command("load_lessons", verbosity=2, stdout=out)
    assert "  created: object-detection" in out.getvalue()


def test_a_broken_lesson_file_stops_the_command_with_its_name(tmp_path: Path) -> None:
    write(tmp_path, "01-a.en.md", "A", 1)
    (tmp_path / "01-a.ko.md").write_text("no front matter", encoding="utf-8")
    with pytest.raises(CommandError, match="01-a.ko.md"):
        load("--dir", str(tmp_path))
    assert Lesson.objects.count() == 0


def test_a_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No lesson folder"):
        load("--dir", str(tmp_path / "nowhere"))
