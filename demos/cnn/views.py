"""Files and JSON of the CNN lessons under /lessons/cnn/ (namespace "lessons").

``map_file`` serves the cached feature-map images: a sample's to anyone, a user's
own (upload or drawing) only to that user — logged in by session or by the API token
that received the URLs. Their files are looked up in their own cache folder, so
another user's link is a plain 404. The activation and autoencoder
data are public teaching material computed from the committed digits models.
"""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from demos.cnn import services as cnn_services
from portal.errors import BadInput, ServiceUnavailable


@require_GET
def map_file(
    request: HttpRequest, scope: str, digest: str, filename: str
) -> FileResponse:
    try:
        path = cnn_services.map_file(scope, digest, filename, _requester_id(request))
    except (FileNotFoundError, ValueError) as exc:
        path = _staff_lookup(request, scope, digest, filename)
        if path is None:
            raise Http404("No such image.") from exc
    response = FileResponse(path.open("rb"), content_type="image/png")
    # Content never changes for a name (the digest covers image, model and weights).
    privacy = "public" if scope == cnn_services.PUBLIC else "private"
    response["Cache-Control"] = f"{privacy}, max-age=86400"
    return response


def _staff_lookup(
    request: HttpRequest, scope: str, digest: str, filename: str
) -> Path | None:
    """Staff may open any student's maps; the digest names the run in every folder."""
    if scope != cnn_services.MINE or not request.user.is_staff:
        return None
    for owner_id in cnn_services.owners_of(digest):
        try:
            return cnn_services.map_file(scope, digest, filename, owner_id)
        except (FileNotFoundError, ValueError):
            continue
    return None


def _requester_id(request: HttpRequest) -> int | None:
    """The logged-in user, by session or by the API token that got the image URLs."""
    if request.user.is_authenticated:
        return request.user.pk
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        return None
    return found[0].pk if found else None


@require_GET
@cache_control(public=True, max_age=3600)
def activations_json(request: HttpRequest) -> JsonResponse:
    """?sample=<name>&channel=<n>&seed=<n> → stages with pictures and histograms."""
    samples = cnn_services.list_samples()
    sample = request.GET.get("sample") or (samples[0]["name"] if samples else "")
    try:
        channel = int(request.GET.get("channel", "0"))
        seed = int(request.GET.get("seed", "0"))
    except ValueError:
        message = gettext("Channel and seed must be whole numbers.")
        return JsonResponse({"detail": message}, status=400)
    try:
        data = cnn_services.activation_demo(sample=sample, channel=channel, seed=seed)
    except BadInput as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    except ServiceUnavailable as exc:
        return JsonResponse({"detail": str(exc)}, status=503)
    return JsonResponse(data)


@require_GET
@cache_control(public=True, max_age=3600)
def autoencoder_json(request: HttpRequest) -> JsonResponse:
    """Test digits, their reconstructions and the t-SNE maps (one fixed document)."""
    try:
        return JsonResponse(cnn_services.autoencoder_demo())
    except ServiceUnavailable as exc:
        return JsonResponse({"detail": str(exc)}, status=503)
