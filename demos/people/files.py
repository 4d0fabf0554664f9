"""The files of a run: photo, thumbnail, annotated image, crops and the crops ZIP.

Never a public media URL: every file is fetched through ``get_demo_run_for_user``
(404 for anyone but the owner and staff) and sent with ``Cache-Control: private``
and ``nosniff``. A session or an API token may ask (``demos.common.auth``): the
API's ``crop_url``/``annotated_url`` point here.

Only the photo and the thumbnail are stored; a crop, the annotated JPEG and the ZIP
are made from the stored photo when asked for. A run never changes, so the photo,
thumbnail and crops carry an ``ETag`` and ``Cache-Control: private, immutable``:
a browser asks once, and a revalidation is answered 304 without touching the photo.
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_safe

from demos.common.auth import login_or_token_required
from demos.models import DemoRun
from demos.people import derived
from demos.people.forms import requested_threshold
from demos.people.selectors import get_demo_run_for_user, open_run_file
from portal.lib.streaming import FileResponse, StreamingHttpResponse

# Bumped when the way crops are cut or encoded changes (old ETags then miss).
CROP_VERSION = "1"
IMMUTABLE_SECONDS = 365 * 24 * 3600


def private(response: HttpResponse) -> HttpResponse:
    """Only the owner's browser may cache it; never sniffed into HTML."""
    patch_cache_control(response, private=True, max_age=300)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def immutable(response: HttpResponse, etag: str) -> HttpResponse:
    """Private and never changing: the browser keeps it for a year."""
    response["ETag"] = etag
    patch_cache_control(
        response, private=True, max_age=IMMUTABLE_SECONDS, immutable=True
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def run_etag(run: DemoRun, what: str) -> str:
    return f'"{run.public_id}-{what}-{CROP_VERSION}"'


def not_modified(request: HttpRequest, etag: str) -> HttpResponse | None:
    """A 304 (with the caching headers) when the browser already has ``etag``."""
    response = get_conditional_response(request, etag=etag)
    return immutable(response, etag) if response is not None else None


def run_file_response(
    request: HttpRequest, run: DemoRun, relative: str, what: str
) -> HttpResponse:
    etag = run_etag(run, what)
    if (cached := not_modified(request, etag)) is not None:
        return cached
    try:
        # Streamed from the media storage (a folder or a bucket), never a public URL.
        handle = open_run_file(run, relative)
    except OSError as exc:
        raise Http404("File not found.") from exc
    return immutable(FileResponse(handle, content_type="image/jpeg"), etag)


@login_or_token_required
@require_safe
def run_image(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return run_file_response(request, run, run.image_path, "photo")


@login_or_token_required
@require_safe
def run_thumbnail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return run_file_response(request, run, run.thumbnail_path, "thumb")


@login_or_token_required
@require_safe
def run_annotated(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The photo with the boxes at ``?score_threshold=`` drawn in (a download)."""
    run = get_demo_run_for_user(request.user, public_id)
    threshold = requested_threshold(request.GET, run)
    try:
        body = derived.render_annotated(run, threshold)
    except OSError as exc:
        raise Http404("File not found.") from exc
    response = HttpResponse(body, content_type="image/jpeg")
    if request.GET.get("download"):
        name = f"people-{str(run.public_id)[:8]}-annotated.jpg"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    return private(response)


@login_or_token_required
@require_safe
def run_crop(request: HttpRequest, public_id: uuid.UUID, rank: int) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    detection = run.detections.filter(rank=rank).first()
    if detection is None:
        raise Http404("No such person.")
    etag = run_etag(run, f"crop-{rank}")
    if (cached := not_modified(request, etag)) is not None:
        return cached
    try:
        body = derived.crop_jpeg(run, detection)
    except OSError as exc:
        raise Http404("File not found.") from exc
    response = HttpResponse(body, content_type="image/jpeg")
    if request.GET.get("download"):
        response["Content-Disposition"] = (
            f'attachment; filename="{detection.crop_name}"'
        )
    return immutable(response, etag)


def crops_zip_response(run: DemoRun, threshold: float) -> HttpResponse:
    try:
        chunks = derived.crops_zip_chunks(run, threshold)
    except OSError as exc:
        raise Http404("File not found.") from exc
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    name = f"people-{str(run.public_id)[:8]}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return private(response)


@login_or_token_required
@require_safe
def run_crops_zip(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    run = get_demo_run_for_user(request.user, public_id)
    return crops_zip_response(run, requested_threshold(request.GET, run))
