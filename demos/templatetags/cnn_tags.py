"""Template tags of the CNN lesson widgets (feature maps, draw a digit, activations).

``{% cnn_widget_options as options %}`` gives a widget what it needs to render
without JavaScript: the sample photos, every feature-map model with its availability
(and the command that makes an unavailable one available), and the choices preset
by the page's query string (``?sample=``, ``?model=``, ``?run=``). A ``?run=`` id is
honoured only for a person-demo run the user may see (``get_demo_run_for_user``);
anyone else's is ignored and reported as unavailable.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import template
from django.http import Http404
from django.templatetags.static import static

register = template.Library()


@register.simple_tag(takes_context=True)
def cnn_widget_options(context: template.Context) -> dict[str, Any]:
    from demos.cnn import networks as cnn_models
    from demos.cnn import services as cnn_services

    request = context.get("request")
    user = context.get("user") or getattr(request, "user", None)
    query = request.GET if request is not None else {}
    samples = [
        {**sample, "url": static(sample["static_path"])}
        for sample in cnn_services.list_samples()
    ]
    names = [sample["name"] for sample in samples]
    sample = query.get("sample") if query.get("sample") in names else None
    models = []
    for spec in cnn_models.CNN_MODELS.values():
        status = cnn_models.availability(spec.key)
        models.append(
            {
                "key": spec.key,
                "name": str(spec.name),
                "available": status.available,
                "reason": status.reason,
                "fix": status.fix,
            }
        )
    available = {row["key"] for row in models if row["available"]}
    run_id, run_missing = _owned_run_id(user, query.get("run"))
    model = query.get("model") if query.get("model") in available else None
    if run_id and model is None and "yolox-nano" in available:
        model = "yolox-nano"  # "what the detector saw" opens on the detector itself
    return {
        "samples": samples,
        "sample": sample or (names[0] if names else ""),
        "models": models,
        "unavailable": [row for row in models if not row["available"]],
        "model": model or cnn_models.DEFAULT_MODEL,
        "run_id": run_id,
        "run_missing": run_missing,
        "channels": list(range(6)),  # the digits CNN's conv1 channels
    }


def _owned_run_id(user: Any, raw: str | None) -> tuple[str, bool]:
    """(run id, False) for a run the user may see; ("", True) for any other id."""
    if not raw:
        return "", False
    if user is None or not user.is_authenticated:
        return "", True
    from demos.people.selectors import get_demo_run_for_user

    try:
        run = get_demo_run_for_user(user, uuid.UUID(raw))
    except (ValueError, Http404):  # not a UUID, or not a run this user may see
        return "", True
    return str(run.public_id), False
