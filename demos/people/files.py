"""The files of a run: photo, thumbnail, annotated image, crops and the crops ZIP.

Never a public media URL: every file is fetched through ``get_demo_run_for_user``
(404 for anyone but the owner and staff) and streamed from the media storage with
``Cache-Control: private`` and ``nosniff``. A session or an API token may ask
(``demos.common.auth``): the API's ``crop_url``/``annotated_url`` point here.
"""

from __future__ import annotations

import uuid

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from demos.common.auth import login_or_token_required
from demos.models import DemoRun
from demos.people import services
from demos.people.forms import requested_threshold
from demos.people.selectors import get_demo_run_for_user


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


@login_or_token_required
@require_safe
def run_image(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return run_file_response(run, run.image_path)


@login_or_token_required
@require_safe
def run_thumbnail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return run_file_response(run, run.thumbnail_path)


@login_or_token_required
@require_safe
def run_annotated(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    threshold = requested_threshold(request.GET, run)
    if threshold == run.score_threshold:
        return run_file_response(run, run.annotated_path)
    # Another threshold: drawn now from the stored photo and boxes (no model run).
    try:
        body = services.render_annotated(run, threshold)
    except OSError as exc:
        raise Http404("File not found.") from exc
    return private(HttpResponse(body, content_type="image/jpeg"))


@login_or_token_required
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


@login_or_token_required
@require_safe
def run_crops_zip(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return crops_zip_response(run, requested_threshold(request.GET, run))
