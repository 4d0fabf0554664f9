"""Lesson pages: the course list, one lesson with its live widget, and "done".

Anyone may read the lessons; marking one done needs a login. A lesson's widget
is the template ``demos/lessons/widgets/<widget>.html``; until that template
exists the page shows ``_missing.html`` instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from demos.lessons import selectors as selectors
from demos.lessons import services as services
from demos.lessons.loading import WIDGET_NAME
from demos.lessons.playgrounds import KERNELS
from demos.models import Lesson

MISSING_WIDGET = "demos/lessons/widgets/_missing.html"

KERNEL_LABELS = {
    "identity": gettext_lazy("Identity"),
    "box-blur": gettext_lazy("Box blur 3x3"),
    "gaussian": gettext_lazy("Gaussian blur 3x3"),
    "sharpen": gettext_lazy("Sharpen"),
    "sobel-x": gettext_lazy("Sobel x (vertical edges)"),
    "sobel-y": gettext_lazy("Sobel y (horizontal edges)"),
    "laplacian": gettext_lazy("Laplacian"),
    "emboss": gettext_lazy("Emboss"),
    "box-blur-5": gettext_lazy("Box blur 5x5"),
    "gaussian-5": gettext_lazy("Gaussian blur 5x5"),
}


def _kernel_text(name: str) -> str:
    """A preset as the student would type it: "1/9" rather than 0.1111."""

    def cell(value: float) -> str:
        return str(Fraction(float(value)).limit_denominator(256))

    return "\n".join(" ".join(cell(v) for v in row) for row in KERNELS[name])


def _samples_context() -> dict[str, Any]:
    return {
        "samples": [
            {
                "key": s.key,
                "title": str(s.title),
                "url": s.url,
                "has_people": bool(s.people),
            }
            for s in selectors.lesson_samples()
        ]
    }


def _kernel_context() -> dict[str, Any]:
    presets = [
        {"name": name, "label": str(KERNEL_LABELS[name]), "text": _kernel_text(name)}
        for name in KERNELS
    ]
    return {**_samples_context(), "kernel_presets": presets}


def _nms_context() -> dict[str, Any]:
    people = [s for s in _samples_context()["samples"] if s["has_people"]]
    return {"samples": people}


# Extra context for the widgets this module serves; other widgets bring their own.
WIDGET_CONTEXT: dict[str, Callable[[], dict[str, Any]]] = {
    "kernel-playground": _kernel_context,
    "pooling": _samples_context,
    "iou-nms": _nms_context,
}


def _widget_template(lesson: Lesson) -> Any | None:
    """The widget's template object (or the placeholder), None without a widget."""
    if not lesson.widget:
        return None
    names = [MISSING_WIDGET]
    # The widget name comes from the database: only plain names become paths.
    if WIDGET_NAME.match(lesson.widget):
        names.insert(0, f"demos/lessons/widgets/{lesson.widget}.html")
    try:
        return select_template(names)
    except TemplateDoesNotExist:
        return None


@require_GET
def lesson_list(request: HttpRequest) -> HttpResponse:
    lessons = list(selectors.lessons_with_progress(request.user))
    summary = selectors.progress_summary(request.user)
    return render(
        request, "demos/lessons/list.html", {"lessons": lessons, "summary": summary}
    )


@require_GET
def lesson_detail(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = selectors.get_lesson(slug)
    previous, following = selectors.lesson_neighbours(lesson)
    context = {
        "lesson": lesson,
        "body": selectors.rendered_body(lesson),
        "is_done": selectors.is_lesson_done(request.user, lesson),
        "previous": previous,
        "next": following,
        "widget_template": _widget_template(lesson),
    }
    extra = WIDGET_CONTEXT.get(lesson.widget)
    if extra:
        context.update(extra())
    return render(request, "demos/lessons/detail.html", context)


@require_POST
def lesson_done(request: HttpRequest, slug: str) -> HttpResponse:
    """Mark (``done=1``) or unmark (``done=0``) a lesson; without ``done``, toggle."""
    lesson = selectors.get_lesson(slug)
    detail_url = reverse("lessons:detail", args=[lesson.slug])
    if not request.user.is_authenticated:
        # Back to the lesson after logging in (a GET to this URL would be a 405).
        return redirect_to_login(detail_url)
    wanted = request.POST.get("done")
    done = (
        wanted == "1"
        if wanted in {"0", "1"}
        else not selectors.is_lesson_done(request.user, lesson)
    )
    services.set_lesson_done(user=request.user, lesson=lesson, done=done)
    if done:
        messages.success(
            request, _("“%(title)s” is marked as done.") % {"title": lesson.title}
        )
    else:
        messages.info(
            request,
            _("“%(title)s” is no longer marked as done.") % {"title": lesson.title},
        )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = detail_url
    return redirect(next_url)
