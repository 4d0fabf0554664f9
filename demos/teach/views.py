"""The instructor's class pages under /teach/ (staff only): the list of their
classes, one class (grid, who is stuck, item analysis, exercise, person demo),
one student, and the CSV and Excel exports.

A student or anonymous visitor gets 403 (anonymous: the login page); an
instructor asking for another instructor's class gets 403, an unknown class 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import quote
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import selectors as class_selectors
from accounts import services as class_services
from accounts.models import Cohort
from demos.lessons.exercise_checks import EXERCISE_PROBLEMS
from demos.models import Lesson
from demos.teach import detector_quality, exports, selectors
from demos.teach.forms import AddStudentsForm, ClassCreateForm, ThisWeekForm
from portal.lib.errors import BadInput

STUCK_LABELS = {
    "idle": gettext_lazy("No recent activity"),
    "quiz": gettext_lazy("Failed a quiz 3 times"),
    "exercise": gettext_lazy("Exercise not passed"),
}
# Names of the exercise and its steps (codes stored in ExerciseAttempt); unknown
# codes are shown as they are.
EXERCISE_LABELS = {
    "people-one-by-one": gettext_lazy("Every person one by one (lesson 10)"),
    "pasted-output": gettext_lazy("printed output checked"),
}
MAX_IDLE_DAYS = 90
HARDEST_SHOWN = 10  # questions shown before "show all"


def teacher_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged in (else the login page) and staff (else 403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not class_selectors.can_teach(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)


@teacher_required
@require_http_methods(["GET", "POST"])
def class_list(request: HttpRequest) -> HttpResponse:
    form = ClassCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cohort = class_services.create_cohort(
            instructor=request.user, **form.cleaned_data
        )
        messages.success(
            request,
            _("Class “%(name)s” created; its join code is %(code)s.")
            % {"name": cohort.name, "code": cohort.join_code},
        )
        return redirect("teach:class-detail", public_id=cohort.public_id)
    cohorts = class_selectors.cohorts_for_instructor(request.user)
    return render(
        request, "demos/teach/class_list.html", {"cohorts": cohorts, "form": form}
    )


def _idle_days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", selectors.DEFAULT_IDLE_DAYS))
    except ValueError:
        days = selectors.DEFAULT_IDLE_DAYS
    return min(max(days, 1), MAX_IDLE_DAYS)


def _class_context(request: HttpRequest, cohort: Cohort) -> dict[str, Any]:
    days = _idle_days(request)
    grid = selectors.class_grid(cohort, idle_days=days)
    stuck_only = request.GET.get("stuck") == "1"
    sort = request.GET.get("sort", "name")
    rows = selectors.sort_rows(grid.stuck_rows if stuck_only else grid.rows, sort)
    steps = selectors.exercise_summary(cohort)
    # Hardest first: what to explain again tomorrow.
    items = sorted(
        selectors.quiz_items(cohort), key=lambda i: (i.correct_rate, -i.attempts)
    )
    all_items = request.GET.get("items") == "all"
    join_path = reverse("accounts:join-class") + f"?code={cohort.join_code}"
    return {
        "cohort": cohort,
        "grid": grid,
        "rows": rows,
        "stuck_count": len(grid.stuck_rows),
        "stuck_only": stuck_only,
        "days": days,
        "sort": sort,
        "stuck_labels": STUCK_LABELS,
        "items": items if all_items else items[:HARDEST_SHOWN],
        "item_count": len(items),
        "all_items": all_items,
        "steps": steps,
        "top_diagnosis": selectors.most_common_diagnosis(steps),
        "quality": detector_quality.detector_quality(cohort),
        "problems": EXERCISE_PROBLEMS,
        "exercise_labels": EXERCISE_LABELS,
        "join_link": request.build_absolute_uri(join_path),
        "add_form": AddStudentsForm(),
        "week_form": ThisWeekForm(
            initial={"lesson": cohort.this_week_lesson}, lessons=grid.lessons
        ),
    }


@teacher_required
@require_GET
def class_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    return render(
        request, "demos/teach/class_detail.html", _class_context(request, cohort)
    )


@teacher_required
@require_POST
def class_add_students(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Add students by username / e-mail (typed or from a CSV file); the rows that
    match nobody are listed back, nothing else is lost."""
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    form = AddStudentsForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
        return redirect("teach:class-detail", public_id=cohort.public_id)
    try:
        report = class_services.add_students(
            cohort=cohort, identifiers=form.identifiers(), added_by=request.user
        )
    except BadInput as exc:
        messages.error(request, str(exc))
        return redirect("teach:class-detail", public_id=cohort.public_id)
    messages.success(
        request,
        _("Added %(added)d students (%(already)d were already in the class).")
        % {"added": len(report.added), "already": len(report.already)},
    )
    if report.unknown:
        unknown = ", ".join(f"{row}: {value}" for row, value in report.unknown[:30])
        messages.warning(request, _("No such user (row: value): %s") % unknown)
    return redirect("teach:class-detail", public_id=cohort.public_id)


@teacher_required
@require_POST
def class_this_week(request: HttpRequest, public_id: UUID) -> HttpResponse:
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    form = ThisWeekForm(request.POST, lessons=list(Lesson.objects.order_by("order")))
    if form.is_valid():
        class_services.set_this_week_lesson(
            cohort=cohort, slug=form.cleaned_data["lesson"]
        )
        messages.success(request, _("This week's lesson is saved."))
    else:
        messages.error(request, _("Choose one of the lessons."))
    return redirect("teach:class-detail", public_id=cohort.public_id)


@teacher_required
@require_GET
def student_detail(
    request: HttpRequest, public_id: UUID, username: str
) -> HttpResponse:
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    student = selectors.get_class_student(cohort, username)
    grid = selectors.class_grid(
        cohort, students=class_selectors.class_students(cohort).filter(pk=student.pk)
    )
    context = {
        "cohort": cohort,
        "student": student,
        "lessons": list(zip(grid.lessons, grid.rows[0].cells, strict=True)),
        "row": grid.rows[0],
        "stuck_labels": STUCK_LABELS,
        "answers": selectors.student_answers(student),
        "attempts": selectors.student_exercise_attempts(student),
        "runs": selectors.student_runs(student),
        "problems": EXERCISE_PROBLEMS,
        "exercise_labels": EXERCISE_LABELS,
    }
    return render(request, "demos/teach/student_detail.html", context)


@teacher_required
@require_POST
def class_remove_student(
    request: HttpRequest, public_id: UUID, username: str
) -> HttpResponse:
    """Take a student out of the class (their own work is kept)."""
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    student = selectors.get_class_student(cohort, username)
    class_services.remove_student(cohort=cohort, student=student)
    messages.success(
        request,
        _("%(name)s is no longer in this class.") % {"name": student.shown_name},
    )
    return redirect("teach:class-detail", public_id=cohort.public_id)


def _attachment(
    body: str | bytes, content_type: str, names: tuple[str, str]
) -> HttpResponse:
    """A download response: an ASCII filename for old clients and the class's
    own name as RFC 5987 UTF-8 filename* for the rest."""
    ascii_name, utf8_name = names
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(utf8_name, safe='')}"
    )
    return response


@teacher_required
@require_GET
def class_export(request: HttpRequest, public_id: UUID) -> HttpResponse:
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    body = exports.progress_csv(cohort, selectors.class_grid(cohort))
    names = exports.export_filename(cohort, "csv")
    return _attachment(body, "text/csv; charset=utf-8", names)


@teacher_required
@require_GET
def class_export_xlsx(request: HttpRequest, public_id: UUID) -> HttpResponse:
    cohort = class_selectors.get_cohort_for_instructor(request.user, public_id)
    body = exports.progress_xlsx(cohort, selectors.class_grid(cohort))
    names = exports.export_filename(cohort, "xlsx")
    return _attachment(body, exports.XLSX_CONTENT_TYPE, names)
