"""Person demo pages (/demos/people/...) and the views that serve a run's files.

Views are thin: parse a form, call one service or selector, render or redirect.
Every run is fetched through ``get_demo_run_for_user`` (404 for anyone but its
owner and staff). Files are never served from a public media URL: they go
through ``run_file_response`` with ``Cache-Control: private`` and ``nosniff``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from demos.common.limits import upload_slot
from demos.models import DemoRun
from demos.people import services
from demos.people.detection import HOW_IT_WORKS
from demos.people.detectors import default_detector_key
from demos.people.forms import CompareForm, PeopleUploadForm, requested_threshold
from demos.people.jobs import services as jobs
from demos.people.jobs.selectors import list_current_jobs_for_user
from demos.people.selectors import (
    detector_states,
    get_demo_run_for_user,
    list_demo_runs_for_user,
    persons_above,
)
from portal.api import check_upload_rate
from portal.errors import BadInput, ServiceUnavailable, TryLater

HISTORY_PAGE_SIZE = 24


def report_failures(
    request: HttpRequest,
    form: PeopleUploadForm,
    failures: list[tuple[str, str]],
    *,
    any_saved: bool,
) -> None:
    """Name each refused file: a message beside the saved ones, else a form error."""
    for name, reason in failures:
        text = _("%(name)s was not processed: %(reason)s") % {
            "name": name,
            "reason": reason,
        }
        if any_saved:
            messages.warning(request, text)
        else:
            form.add_error("images", text)


def queue_upload_jobs(request: HttpRequest, form: PeopleUploadForm) -> HttpResponse:
    """One job per photo of a valid upload form; the jobs page, or the form again."""
    jobs.check_no_jobs_in_flight(request.user)  # UploadInProgress: the caller's 429
    try:
        outcome = jobs.enqueue_detection_jobs(
            owner=request.user,
            uploads=form.cleaned_data["images"],
            detector_key=form.cleaned_data["detector"],
            score_threshold=form.cleaned_data["score_threshold"],
        )
    except (BadInput, ServiceUnavailable) as exc:
        form.add_error("detector", str(exc))
    else:
        report_failures(request, form, outcome.failures, any_saved=bool(outcome.jobs))
        if outcome.jobs:
            count = len(outcome.jobs)
            messages.success(
                request,
                ngettext(
                    "%(count)d photo is queued; its result appears below.",
                    "%(count)d photos are queued; each result appears below.",
                    count,
                )
                % {"count": count},
            )
            return redirect("demos:people-jobs")
    context = {
        "form": form,
        "max_files": settings.MAX_FILES_PER_UPLOAD,
        "detector_states": form.fields["detector"].states,
    }
    return render(request, "demos/people/upload.html", context)


def run_uploads(request: HttpRequest, form: PeopleUploadForm) -> HttpResponse | None:
    """Detect people in a valid form's photos now; a redirect, or None to re-show."""
    try:
        outcome = services.create_demo_runs(
            owner=request.user,
            uploads=form.cleaned_data["images"],
            detector_key=form.cleaned_data["detector"],
            score_threshold=form.cleaned_data["score_threshold"],
        )
    except ServiceUnavailable as exc:
        form.add_error("detector", str(exc))
        return None
    report_failures(request, form, outcome.failures, any_saved=bool(outcome.runs))
    if len(outcome.runs) == 1:
        return redirect("demos:people-detail", public_id=outcome.runs[0].public_id)
    if outcome.runs:
        return redirect("demos:people-history")
    return None


SUBMISSION_SECONDS = 3600


def _submission_key(request: HttpRequest, form: PeopleUploadForm) -> str | None:
    token = form.cleaned_data.get("submission")
    return f"upload-submission:{request.user.pk}:{token.hex}" if token else None


def repeated_submission(request: HttpRequest, key: str | None) -> HttpResponse | None:
    """Claim the form's one-time key; a repeat goes where the first submit went
    (the history while the first is still running)."""
    if key is None or cache.add(key, "", SUBMISSION_SECONDS):
        return None
    messages.info(request, _("This form was already sent; here is its result."))
    return redirect(cache.get(key) or "demos:people-history")


@login_required
@require_http_methods(["GET", "POST"])
def people_upload(request: HttpRequest) -> HttpResponse:
    form = PeopleUploadForm(
        request.POST or None,
        request.FILES or None,
        default_detector=default_detector_key(),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        key = _submission_key(request, form)
        repeat = repeated_submission(request, key)
        if repeat is not None:
            return repeat
        response = None
        try:
            # The API's upload allowance, and one upload in flight per student.
            check_upload_rate(request)
            with upload_slot(request.user):
                if settings.PORTAL_ASYNC_UPLOADS:
                    response = queue_upload_jobs(request, form)  # a job per photo
                else:
                    response = run_uploads(request, form)
        except TryLater as exc:
            form.add_error(None, str(exc))
            status = 429
        finally:
            if key is not None:
                if response is not None and response.status_code == 302:
                    cache.set(key, response["Location"], SUBMISSION_SECONDS)
                else:
                    cache.delete(key)  # nothing was made: the form may be sent again
        if response is not None:
            return response
    context = {
        "form": form,
        "max_files": settings.MAX_FILES_PER_UPLOAD,
        "detector_states": form.fields["detector"].states,
    }
    return render(request, "demos/people/upload.html", context, status=status)


def _run_context(request: HttpRequest, run: DemoRun) -> dict[str, Any]:
    prefetch_related_objects([run], "detections")
    threshold = requested_threshold(request.GET, run)
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
