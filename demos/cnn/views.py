"""Feature-map image files of the CNN lessons under /lessons/cnn/ (namespace "lessons").

``map_file`` serves the cached feature-map images: a sample's to anyone, a user's
own (upload or drawing) only to that user — logged in by session or by the API token
that received the URLs. Their files are looked up in their own cache folder, so
another user's link is a plain 404. The lessons' JSON data is served by
``demos.cnn.api`` under /api/v1/.
"""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from demos.cnn import services as cnn_services
from demos.common.auth import requesting_user


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
    user = requesting_user(request)
    return user.pk if user is not None else None
