"""Lesson pages: the course list, one lesson with its live widget, and "done".

Anyone may read the lessons; marking one done needs a login. A lesson's widget
comes from the registry in ``demos.widgets.registry`` (template and context); an
unknown widget, or one whose template is not written yet, shows ``_missing.html``
instead of failing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import cohorts_for_student
from demos.lessons import (
    code_checks,
    colab_handoff,
    exercise_checks,
    exercise_steps,
    notebooks,
)
from demos.lessons import selectors as selectors
from demos.lessons import services as services
from demos.models import Lesson
from demos.widgets.registry import MISSING_TEMPLATE, get_widget
from portal.lib.csp import runs_webassembly


def _render_widget(request: HttpRequest, lesson: Lesson, key: str) -> str | None:
    """One widget's HTML (or the placeholder's); None when not even that exists."""
    widget = get_widget(key)
    names = [widget.template_name, MISSING_TEMPLATE] if widget else [MISSING_TEMPLATE]
    try:
        template = select_template(names)
    except TemplateDoesNotExist:
        return None
    context = widget.context(request) if widget else {}
    return template.render({"lesson": lesson, "widget_key": key, **context}, request)


def _widget_parts(
    request: HttpRequest, lesson: Lesson, body: selectors.RenderedBody
) -> dict[str, Any]:
    """The lesson text as ``flow``: (text HTML, key and HTML of the widget placed
    after it, or "" and None) triples, the widgets where the text places them
    (``{{ widget: key }}``); without markers the lesson's widget goes on top
    (``top_widget``)."""
    placed = body.placed_widgets
    keys = placed or ([lesson.widget] if lesson.widget else [])
    widgets = {key: _render_widget(request, lesson, key) for key in keys}
    flow = [(part.html, part.widget, widgets.get(part.widget)) for part in body.parts]
    top = None if placed else widgets.get(lesson.widget)
    has_widget = any(markup is not None for markup in widgets.values())
    return {"flow": flow, "top_widget": top, "has_widget": has_widget}


@require_GET
def lesson_list(request: HttpRequest) -> HttpResponse:
    lessons = list(selectors.lessons_with_progress(request.user))
    summary = selectors.progress_summary(request.user)
    cohorts = cohorts_for_student(request.user)  # their classes and this week's lesson
    this_week = {cohort.this_week_lesson for cohort in cohorts}
    context = {
        "lessons": lessons,
        "summary": summary,
        "cohorts": cohorts,
        "this_week": this_week,
    }
    return render(request, "demos/lessons/list.html", context)


@require_GET
def lesson_detail(request: HttpRequest, slug: str) -> HttpResponse:
    lesson = selectors.get_lesson(slug)
    previous, following = selectors.lesson_neighbours(lesson)
    body = selectors.rendered_body(lesson)
    context = {
        "lesson": lesson,
        "body": body,
        "is_done": selectors.is_lesson_done(request.user, lesson),
        "has_quiz": selectors.has_quiz(lesson),
        "quiz_score": selectors.quiz_score(request.user, lesson),
        "previous": previous,
        "next": following,
        **_widget_parts(request, lesson, body),
    }
    return render(request, "demos/lessons/detail.html", context)


@require_GET
def lesson_math_css(request: HttpRequest, slug: str) -> HttpResponse:
    """The positions of the lesson's typeset formulas, as a stylesheet of its own
    origin (KaTeX writes them as inline styles, which the CSP forbids)."""
    lesson = selectors.get_lesson(slug)
    response = HttpResponse(selectors.math_stylesheet(lesson), content_type="text/css")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_GET
def lesson_notebook(request: HttpRequest, slug: str) -> HttpResponse:
    """The lesson's code as a Jupyter notebook, in the page's language (a download)."""
    lesson = selectors.get_lesson(slug)
    lang = "ko" if (get_language() or "").startswith("ko") else "en"
    url = request.build_absolute_uri(reverse("lessons:detail", args=[lesson.slug]))
    content = notebooks.notebook_json(
        title=lesson.title,
        summary=lesson.summary,
        body=getattr(lesson, f"body_{lang}"),
        url=url,
        lang=lang,
    )
    response = HttpResponse(content, content_type="application/x-ipynb+json")
    name = f"{lesson.order:02d}-{lesson.slug}.{lang}.ipynb"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


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


# --- The "people one by one" exercise, run in the browser (Pyodide) ---------------

# The pure modules the page's worker runs under Pyodide, shipped as their source.
EXERCISE_MODULES = {"exercise_steps": exercise_steps, "code_checks": code_checks}
WORKER_SCRIPT = "js/people-exercise-worker.js"


def _parsons_lines(step: str) -> list[str]:
    """The step's lines and distractors in a fixed mixed order (the page shuffles)."""
    parsons = exercise_steps.PARSONS.get(step)
    if not parsons:
        return []
    lines = [*parsons["lines"], *parsons["distractors"]]
    return lines[1::2] + lines[::2]


@runs_webassembly
@require_GET
def people_exercise(request: HttpRequest) -> HttpResponse:
    """The guided exercise on one of the student's own person-demo runs (``?run=``),
    or the list of their runs to pick from. The student's code runs in a Web
    Worker with Pyodide; the server sends the data and stores each step's verdict."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    run_id = request.GET.get("run", "")
    run = selectors.get_exercise_run_for_user(request.user, run_id) if run_id else None
    steps = [
        {
            "key": key,
            "title": exercise_checks.STEP_TITLES[key],
            "help": exercise_checks.STEP_HELP[key],
            "starter": exercise_steps.STARTER[key],
            "parsons": _parsons_lines(key),
        }
        for key in exercise_steps.STEPS
    ]
    context = {
        "run": run,
        "runs": selectors.exercise_runs_for_user(request.user) if run is None else [],
        "steps": steps,
        "texts": exercise_checks.step_texts(),
        "handoffs": colab_handoff.HANDOFFS,
        "modules": {
            name: reverse("lessons:people-exercise-module", kwargs={"name": name})
            for name in EXERCISE_MODULES
        },
    }
    return render(request, "demos/lessons/people_exercise.html", context)


@require_GET
def people_exercise_module(request: HttpRequest, name: str) -> HttpResponse:
    """The source of a pure module the exercise's worker runs (public: portal code)."""
    module = EXERCISE_MODULES.get(name)
    if module is None or module.__file__ is None:
        raise Http404("No such module.")
    source = Path(module.__file__).read_text(encoding="utf-8")
    response = HttpResponse(source, content_type="text/x-python; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


@runs_webassembly
@require_GET
def people_exercise_worker(request: HttpRequest) -> HttpResponse:
    """The exercise's Web Worker script, served here (not by whitenoise) so that the
    worker, whose policy is the one its own script arrives with, runs under the
    strict CSP plus 'wasm-unsafe-eval' rather than under no policy at all."""
    path = finders.find(WORKER_SCRIPT)
    if not path:
        raise Http404("No worker script.")
    source = Path(str(path)).read_text(encoding="utf-8")
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
