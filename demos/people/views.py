"""Person demo pages (/demos/people/...) and the views that serve a run's files.

Views are thin: parse a form, call one service or selector, render or redirect.
Every run is fetched through ``get_demo_run_for_user`` (404 for anyone but its
owner and staff). Files are never served from a public media URL: they go
through ``run_file_response`` with ``Cache-Control: private`` and ``nosniff``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from demos.models import DemoRun
from demos.people import services
from demos.people.detection import HOW_IT_WORKS
from demos.people.forms import CompareForm, PeopleUploadForm, ThresholdForm
from demos.people.jobs.selectors import list_current_jobs_for_user
from demos.people.jobs.views import queue_upload_jobs, report_failures
from demos.people.selectors import (
    detector_states,
    get_demo_run_for_user,
    list_demo_runs_for_user,
    persons_above,
)
from models_store.loading import default_detector_key
from portal.errors import BadInput, ServiceUnavailable

HISTORY_PAGE_SIZE = 24


@login_required
@require_http_methods(["GET", "POST"])
def people_upload(request: HttpRequest) -> HttpResponse:
    form = PeopleUploadForm(
        request.POST or None,
        request.FILES or None,
        default_detector=default_detector_key(),
    )
    if settings.PORTAL_ASYNC_UPLOADS and request.method == "POST" and form.is_valid():
        return queue_upload_jobs(request, form)  # one worker job per photo
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.create_demo_runs(
                owner=request.user,
                uploads=form.cleaned_data["images"],
                detector_key=form.cleaned_data["detector"],
                score_threshold=form.cleaned_data["score_threshold"],
            )
        except ServiceUnavailable as exc:
            form.add_error("detector", str(exc))
        else:
            report_failures(
                request, form, outcome.failures, any_saved=bool(outcome.runs)
            )
            if len(outcome.runs) == 1:
                run = outcome.runs[0]
                return redirect("demos:people-detail", public_id=run.public_id)
            if outcome.runs:
                return redirect("demos:people-history")
    context = {
        "form": form,
        "max_files": settings.MAX_FILES_PER_UPLOAD,
        "detector_states": form.fields["detector"].states,
    }
    return render(request, "demos/people/upload.html", context)


def _threshold(request: HttpRequest, run: DemoRun) -> float:
    form = ThresholdForm(request.GET)
    value = form.cleaned_data["score_threshold"] if form.is_valid() else None
    return run.score_threshold if value is None else value


def _run_context(request: HttpRequest, run: DemoRun) -> dict[str, Any]:
    prefetch_related_objects([run], "detections")
    threshold = _threshold(request, run)
    state = detector_states().get(run.detector)
    persons = persons_above(run, threshold)
    index = {d.pk: number for number, d in enumerate(persons, start=1)}
    return {
        "run": run,
        "threshold": threshold,
        "persons": persons,
        "rows": [
            {"detection": d, "index": index.get(d.pk)} for d in run.detections.all()
        ],
        "detector_state": state,
        "how_it_works": HOW_IT_WORKS.get(state.spec.family, "") if state else "",
    }


@login_required
@require_safe
def people_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    context = _run_context(request, run)
    context["compare_form"] = CompareForm(exclude=run.detector)
    return render(request, "demos/people/detail.html", context)


@login_required
@require_POST
def people_compare(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    form = CompareForm(request.POST, exclude=run.detector)
    if form.is_valid():
        try:
            other = services.compare_demo_run(
                run=run, detector_key=form.cleaned_data["detector"]
            )
        except (BadInput, ServiceUnavailable) as exc:
            messages.error(request, str(exc))
        else:
            return redirect(
                "demos:people-compare-result",
                public_id=run.public_id,
                other_id=other.public_id,
            )
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("demos:people-detail", public_id=run.public_id)


@login_required
@require_safe
def people_compare_result(
    request: HttpRequest, public_id: uuid.UUID, other_id: uuid.UUID
) -> HttpResponse:
    sides = [
        _run_context(request, get_demo_run_for_user(request.user, run_id))
        for run_id in (public_id, other_id)
    ]
    return render(request, "demos/people/compare.html", {"sides": sides})


@login_required
@require_POST
def people_delete(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    services.delete_demo_run(run=run)
    messages.success(request, _("The run and all its files were deleted."))
    return redirect("demos:people-history")


@login_required
@require_safe
def people_history(request: HttpRequest) -> HttpResponse:
    runs = list_demo_runs_for_user(request.user, include_others=request.user.is_staff)
    page = Paginator(runs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    states = detector_states()
    for run in page.object_list:
        state = states.get(run.detector)
        run.detector_name = state.spec.name if state else run.detector
    context = {
        "page": page,
        "show_owner": request.user.is_staff,
        "jobs": list_current_jobs_for_user(request.user)[:HISTORY_PAGE_SIZE],
    }
    return render(request, "demos/people/history.html", context)


# --- Files ---------------------------------------------------------------------


def file_login_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Session login, or an API token (``Authorization: Token ...``) for API clients.

    The API's ``crop_url``/``annotated_url`` point here, so a token client must be
    able to fetch them; browsers without a session go to the login page.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            try:
                found = TokenAuthentication().authenticate(request)
            except AuthenticationFailed:
                found = None
            if found is None:
                return redirect_to_login(request.get_full_path())
            request.user = found[0]
        return view(request, *args, **kwargs)

    return wrapper


def run_file_response(
    run: DemoRun, relative: str, *, download_name: str = ""
) -> FileResponse:
    try:
        # Streamed from the media storage (a folder or a bucket), never a public URL.
        handle = services.open_run_file(run, relative)
    except OSError as exc:
        raise Http404("File not found.") from exc
    response = FileResponse(
        handle,
        content_type="image/jpeg",
        as_attachment=bool(download_name),
        filename=download_name or None,
    )
    return private(response)


def private(response: HttpResponse) -> HttpResponse:
    """Only the owner's browser may cache it; never sniffed into HTML."""
    patch_cache_control(response, private=True, max_age=300)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@file_login_required
@require_safe
def run_image(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return run_file_response(run, run.image_path)


@file_login_required
@require_safe
def run_thumbnail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return run_file_response(run, run.thumbnail_path)


@file_login_required
@require_safe
def run_annotated(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    threshold = _threshold(request, run)
    if threshold == run.score_threshold:
        return run_file_response(run, run.annotated_path)
    # Another threshold: drawn now from the stored photo and boxes (no model run).
    try:
        body = services.render_annotated(run, threshold)
    except OSError as exc:
        raise Http404("File not found.") from exc
    return private(HttpResponse(body, content_type="image/jpeg"))


@file_login_required
@require_safe
def run_crop(request: HttpRequest, public_id: uuid.UUID, rank: int) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    detection = run.detections.filter(rank=rank).first()
    if detection is None:
        raise Http404("No such person.")
    name = f"person-{rank}.jpg" if request.GET.get("download") else ""
    return run_file_response(run, detection.crop_path, download_name=name)


def crops_zip_response(run: DemoRun, threshold: float) -> HttpResponse:
    try:
        body = services.build_crops_zip(run, threshold)
    except OSError as exc:
        raise Http404("File not found.") from exc
    response = HttpResponse(body, content_type="application/zip")
    name = f"people-{str(run.public_id)[:8]}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return private(response)


@file_login_required
@require_safe
def run_crops_zip(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return crops_zip_response(run, _threshold(request, run))
