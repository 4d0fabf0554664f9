"""Image files of lesson 9 (augmentation) under ``/lessons/arch/augment/``.

Plain Django views, because they answer with PNGs: a shipped sample's grid to anyone
(cacheable), a grid of the student's own photo only after a login. Their errors are
``{"detail": ...}`` JSON like the API's. The JSON data of lessons 7-9 is served by
``demos.architectures.api`` under ``/api/v1/`` (the old ``/lessons/arch/*.json``
paths are aliases of those views, see ``urls.py``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from demos.architectures.payloads import (
    DEFAULT_TILES,
    DIGIT_SAMPLE,
    MAX_SEED,
    augment_png,
    sample_grid_png,
    sample_paths,
)
from demos.ml.augmentation import MAX_TILES
from portal.lib.errors import BadInput
from portal.lib.forms import BoundedIntegerField


class AugmentForm(forms.Form):
    """A sample name or an uploaded photo, a seed and a tile count."""

    sample = forms.CharField(required=False, max_length=64)
    image = forms.FileField(required=False)
    seed = BoundedIntegerField(required=False, min_value=0, max_value=MAX_SEED)
    count = BoundedIntegerField(required=False, min_value=1, max_value=MAX_TILES)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("image") and not data.get("sample"):
            raise forms.ValidationError(_("Choose a sample or upload a photo."))
        data["seed"] = 0 if data.get("seed") is None else data["seed"]
        data["count"] = data.get("count") or DEFAULT_TILES
        return data


def _form_error(form: forms.Form) -> str:
    field, errors = next(iter(form.errors.items()))
    label = "" if field == "__all__" else f"{field}: "
    return f"{label}{errors[0]}"


def _png_response(png: bytes, *, public: bool) -> HttpResponse:
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=3600" if public else "private"
    return response


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@require_GET
def augment_sample_png(request: HttpRequest, sample: str) -> HttpResponse:
    form = AugmentForm({"sample": sample, **request.GET.dict()})
    if not form.is_valid():
        return _json_error(_form_error(form))
    if sample != DIGIT_SAMPLE and sample not in sample_paths():
        raise Http404(_("Unknown sample image."))
    data = form.cleaned_data
    return _png_response(
        sample_grid_png(sample, data["seed"], data["count"]), public=True
    )


@require_POST
def augment(request: HttpRequest) -> HttpResponse:
    """POST a sample name or a photo (+ seed, count) → the grid as a PNG."""
    form = AugmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _json_error(_form_error(form))
    if form.cleaned_data.get("image") and not request.user.is_authenticated:
        return _json_error(
            _("Log in to augment your own photo; the samples work without an account."),
            status=403,
        )
    data = form.cleaned_data
    try:
        png = augment_png(
            sample=data["sample"],
            image=data.get("image"),
            seed=data["seed"],
            count=data["count"],
        )
    except BadInput as exc:
        return _json_error(str(exc))
    return _png_response(png, public=False)
