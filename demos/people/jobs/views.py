"""Pages of detection jobs: queue uploads, list jobs, a small JSON status for polling.

With ``PORTAL_ASYNC_UPLOADS`` on, ``people_upload`` (demos/people/views.py) queues
one job per photo and redirects to the jobs page, whose progress bars
``static/js/jobs.js`` updates from ``people_jobs_status`` without reloading.
Every job is fetched through ``demos/people/jobs/selectors.py`` (owner only).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from demos.models import DetectionJob
from demos.people.jobs.selectors import (
    jobs_by_ids_for_user,
    list_detection_jobs_for_user,
)

JOBS_PAGE_SIZE = 30
MAX_POLLED_JOBS = 100


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
