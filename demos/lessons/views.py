"""Lesson pages: the course list, one lesson with its live widget, and "done".

Anyone may read the lessons; marking one done needs a login. A lesson's widget
comes from the registry in ``demos.widgets.registry`` (template and context); an
unknown widget, or one whose template is not written yet, shows ``_missing.html``
instead of failing.
"""

from __future__ import annotations

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
from django.views.decorators.http import require_GET, require_POST

from demos.lessons import selectors as selectors
from demos.lessons import services as services
from demos.models import Lesson
from demos.widgets.registry import MISSING_TEMPLATE, get_widget


def _widget_parts(request: HttpRequest, lesson: Lesson) -> dict[str, Any]:
    """The widget's template (or the placeholder) and its context; none without one."""
    if not lesson.widget:
        return {"widget_template": None}
    widget = get_widget(lesson.widget)
    names = [widget.template_name, MISSING_TEMPLATE] if widget else [MISSING_TEMPLATE]
    try:
        template = select_template(names)
    except TemplateDoesNotExist:
        return {"widget_template": None}
    context = widget.context(request) if widget else {}
    return {**context, "widget_template": template}


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
        "has_quiz": selectors.has_quiz(lesson),
        "quiz_score": selectors.quiz_score(request.user, lesson),
        "previous": previous,
        "next": following,
        **_widget_parts(request, lesson),
    }
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
