"""Pages of detection jobs: queue uploads, list jobs, a small JSON status for polling.

With ``PORTAL_ASYNC_UPLOADS`` on, ``people_upload`` (demos/people/views.py) hands a valid
form to ``queue_upload_jobs``: one job per photo, then the jobs page, whose
progress bars ``static/js/jobs.js`` updates from ``people_jobs_status`` without
reloading. Every job is fetched through ``demos/people/jobs/selectors.py`` (owner only).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_safe

from demos.models import DetectionJob
from demos.people.forms import PeopleUploadForm
from demos.people.jobs import services as jobs
from demos.people.jobs.selectors import (
    jobs_by_ids_for_user,
    list_detection_jobs_for_user,
)
from portal.errors import BadInput, ServiceUnavailable

JOBS_PAGE_SIZE = 30
MAX_POLLED_JOBS = 100


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


@login_required
@require_safe
def people_jobs(request: HttpRequest) -> HttpResponse:
    queryset = list_detection_jobs_for_user(request.user)
    page = Paginator(queryset, JOBS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "demos/people/jobs.html", {"page": page, "jobs": page})


def job_status(job: DetectionJob) -> dict[str, object]:
    """What jobs.js needs to redraw one job card."""
    run = job.run
    return {
        "id": str(job.public_id),
        "state": job.state,
        "state_label": str(job.get_state_display()),
        "progress": job.progress,
        "detail": job.detail,
        "run_url": reverse("demos:people-detail", args=[run.public_id]) if run else "",
        "thumb_url": reverse("demos:people-thumb", args=[run.public_id]) if run else "",
    }


@login_required
@require_safe
def people_jobs_status(request: HttpRequest) -> HttpResponse:
    """``?id=<uuid>&id=...`` → ``{"jobs": [...], "pending": n}`` (own jobs only)."""
    ids = request.GET.getlist("id")[:MAX_POLLED_JOBS]
    found = jobs_by_ids_for_user(request.user, ids)
    rows = [job_status(job) for job in found]
    pending = sum(1 for job in found if not job.is_finished)
    response = JsonResponse({"jobs": rows, "pending": pending})
    response["Cache-Control"] = "no-store"
    return response
