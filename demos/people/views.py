"""Person demo pages (/demos/people/...) and the views that serve a run's files.

Views are thin: parse a form, call one service or selector, render or redirect.
Every run is fetched through ``get_demo_run_for_user`` (404 for anyone but its
owner and staff). Files are never served from a public media URL: they go
through ``demos/people/files.py`` with ``Cache-Control: private`` and ``nosniff``.
The result page shows the stored photo with the boxes as an SVG overlay the
browser redraws when the threshold moves (``static/js/people.js``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from demos.common.limits import check_free_disk, upload_slot
from demos.common.samples import SAMPLES, sample_upload
from demos.ml.detection import counting
from demos.ml.detection.detectors import default_detector_key, is_fallback
from demos.ml.detection.snippets import how_it_works
from demos.models import DemoRun
from demos.people import services
from demos.people.forms import CompareForm, PeopleUploadForm, requested_threshold
from demos.people.jobs import services as jobs
from demos.people.jobs.selectors import list_current_jobs_for_user
from demos.people.selectors import (
    detector_description,
    detector_name,
    detector_states,
    get_demo_run_for_user,
    list_demo_runs_for_user,
    persons_above,
    truth_agreement,
)
from portal.lib.api import check_upload_rate
from portal.lib.errors import (
    BadInput,
    InsufficientStorage,
    ServiceUnavailable,
    TryLater,
)

HISTORY_PAGE_SIZE = 24
# The compare page's query parameters: one threshold per side.
COMPARE_THRESHOLDS = ("score_threshold", "other_threshold")


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


def uploads_of(form: PeopleUploadForm) -> list[UploadedFile]:
    """The chosen photos, or the shipped sample the form names (read by key)."""
    return form.cleaned_data["images"] or [sample_upload(form.cleaned_data["sample"])]


def upload_context(request: HttpRequest, form: PeopleUploadForm) -> dict[str, Any]:
    """The upload page: students see usable detectors; staff also the others, why
    they are unavailable and the command that fixes each."""
    states = form.fields["detector"].states
    key = request.POST.get("sample") or request.GET.get("sample") or ""
    return {
        "form": form,
        "max_files": settings.MAX_FILES_PER_UPLOAD,
        "detector_states": states,
        "unavailable_states": {
            key: state for key, state in states.items() if not state.is_available
        },
        "serving_fallback": is_fallback(default_detector_key()),
        "sample": SAMPLES.get(key),
    }


def queue_upload_jobs(
    request: HttpRequest, form: PeopleUploadForm
) -> HttpResponse | None:
    """One job per photo of a valid upload form; the jobs page, or None to re-show."""
    jobs.check_no_jobs_in_flight(request.user)  # UploadInProgress: the caller's 429
    try:
        outcome = jobs.enqueue_detection_jobs(
            owner=request.user,
            uploads=uploads_of(form),
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
    return None


def run_uploads(request: HttpRequest, form: PeopleUploadForm) -> HttpResponse | None:
    """Detect people in a valid form's photos now; a redirect, or None to re-show."""
    try:
        outcome = services.create_demo_runs(
            owner=request.user,
            uploads=uploads_of(form),
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
        return redirect_to_new_runs(outcome.runs)
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
        initial={"sample": request.GET.get("sample", "")},
        default_detector=default_detector_key(),
        show_unavailable=request.user.is_staff,
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
            check_free_disk()
            with upload_slot(request.user):
                if settings.PORTAL_ASYNC_UPLOADS:
                    response = queue_upload_jobs(request, form)  # a job per photo
                else:
                    response = run_uploads(request, form)
        except TryLater as exc:
            form.add_error(None, str(exc))
            status = 429
        except InsufficientStorage as exc:
            form.add_error(None, str(exc))
            status = 507
        finally:
            if key is not None:
                if response is not None and response.status_code == 302:
                    cache.set(key, response["Location"], SUBMISSION_SECONDS)
                else:
                    cache.delete(key)  # nothing was made: the form may be sent again
        if response is not None:
            return response
    context = upload_context(request, form)
    return render(request, "demos/people/upload.html", context, status=status)


def overlay_sizes(run: DemoRun) -> dict[str, int]:
    """Line width and label size in photo pixels: readable at any photo size."""
    short = min(run.image_width, run.image_height)
    font = max(12, round(short / 28))
    line = max(2, round(short / 250))
    # Unsure boxes are dashed; dashes scale with the line so they read at any size.
    return {
        "line": line,
        "font": font,
        "tag": font + 8,
        "dash": f"{4 * line} {3 * line}",
    }


def _run_context(
    request: HttpRequest, run: DemoRun, threshold: float | None = None
) -> dict[str, Any]:
    prefetch_related_objects([run], "detections")
    if threshold is None:
        threshold = requested_threshold(request.GET, run)
    state = detector_states().get(run.detector)
    described = detector_description(run.detector)
    persons = persons_above(run, threshold)
    # A person's number is its box's rank: the same on the page, in the file name
    # and in the ZIP's manifest, whatever the slider shows.
    index = {d.pk: d.rank for d in persons}
    return {
        "run": run,
        "threshold": threshold,
        "persons": persons,
        "rows": [
            {"detection": d, "index": index.get(d.pk)} for d in run.detections.all()
        ],
        "overlay": overlay_sizes(run),
        "agreement": truth_agreement(run, threshold),
        # The editor starts from the student's saved boxes, else the shown ones.
        "truth_boxes": run.truth_boxes
        if run.truth_boxes is not None
        else [d.box for d in persons],
        "detector_state": state,
        "detector": described,
        "serving_fallback": described.is_fallback
        and is_fallback(default_detector_key()),
        "how_it_works": counting.HOW_IT_WORKS
        if described.pipeline == "tiled"
        else how_it_works(described.family, described.decoder),
    }


@login_required
@require_safe
def people_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    context = _run_context(request, run)
    context["compare_form"] = CompareForm(
        exclude=run.detector, show_unavailable=request.user.is_staff
    )
    return render(request, "demos/people/detail.html", context)


@login_required
@require_POST
def people_compare(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    form = CompareForm(
        request.POST, exclude=run.detector, show_unavailable=request.user.is_staff
    )
    if form.is_valid():
        try:
            other = services.compare_demo_run(
                run=run, detector_key=form.cleaned_data["detector"]
            )
        except (BadInput, ServiceUnavailable) as exc:
            form.add_error("detector", str(exc))
        else:
            return redirect(
                "demos:people-compare-result",
                public_id=run.public_id,
                other_id=other.public_id,
            )
    # The result page again, with the reason beside the detector it is about.
    context = _run_context(request, run)
    context["compare_form"] = form
    return render(request, "demos/people/detail.html", context, status=400)


@login_required
@require_safe
def people_compare_result(
    request: HttpRequest, public_id: uuid.UUID, other_id: uuid.UUID
) -> HttpResponse:
    runs = [
        get_demo_run_for_user(request.user, run_id) for run_id in (public_id, other_id)
    ]
    # Each side at its own detector's threshold, moved by its own slider.
    sides = []
    for run, name in zip(runs, COMPARE_THRESHOLDS, strict=True):
        side = _run_context(request, run, requested_threshold(request.GET, run, name))
        side["threshold_name"] = name
        sides.append(side)
    context = {"sides": sides, "run": runs[0]}
    return render(request, "demos/people/compare.html", context)


@login_required
@require_POST
def people_delete(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    services.delete_demo_run(run=run)
    messages.success(request, _("The run and all its files were deleted."))
    return redirect("demos:people-history")


def redirect_to_new_runs(runs: list[DemoRun]) -> HttpResponse:
    """The history page with the runs of this upload marked (``?new=<id>,<id>``)."""
    new = ",".join(str(run.public_id) for run in runs)  # UUIDs: nothing to escape
    return redirect(f"{reverse('demos:people-history')}?new={new}")


def new_run_ids(query: str) -> set[uuid.UUID]:
    """The public ids in ``?new=``; anything that is not a UUID is ignored."""
    ids = set()
    for part in query.split(",")[:HISTORY_PAGE_SIZE]:
        try:
            ids.add(uuid.UUID(part.strip()))
        except ValueError:
            continue
    return ids


@login_required
@require_safe
def people_history(request: HttpRequest) -> HttpResponse:
    runs = list_demo_runs_for_user(request.user, include_others=request.user.is_staff)
    page = Paginator(runs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    states = detector_states()
    new_ids = new_run_ids(request.GET.get("new", ""))
    for run in page.object_list:
        state = states.get(run.detector)
        run.detector_name = detector_name(run.detector) if state else run.detector
        run.is_new = run.public_id in new_ids
    context = {
        "page": page,
        "show_owner": request.user.is_staff,
        "new_count": sum(run.is_new for run in page.object_list),
        "jobs_enabled": settings.PORTAL_ASYNC_UPLOADS,
        "jobs": list_current_jobs_for_user(request.user)[:HISTORY_PAGE_SIZE],
    }
    return render(request, "demos/people/history.html", context)
