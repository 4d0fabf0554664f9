"""The lesson widgets: one registry from a widget's key to its template, its
context and its data endpoints.

A lesson names its widget by key (``widget:`` in its Markdown front matter). The
key names four files: ``demos/widgets/<key>.py`` (its context, API views and
routes), ``templates/demos/widgets/<key>.html``, ``static/js/widgets/<key>.js`` and
``tests/demos/widgets/test_<key>.py``. ``context`` builds what
that template needs from the request (sample photos, presets, choices preset by
the query string, an owned person-demo run); ``data_routes`` are the routes under
the ``api`` namespace the widget's script reads, whose URLs the template hands to
it in ``data-*`` attributes. Template tags stay presentation only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from django.http import HttpRequest

from demos.widgets import (
    activations,
    architectures,
    augmentation,
    autoencoder_tsne,
    draw_digit,
    feature_maps,
    iou_nms,
    kernel_playground,
    lstm_gates,
    output_size,
    pooling,
    session_inspector,
    stack_calculator,
    training_curves,
    transfer_learning,
    vision_tasks,
)

WidgetContext = Callable[[HttpRequest], dict[str, Any]]

TEMPLATE_FOLDER = "demos/widgets"
MISSING_TEMPLATE = f"{TEMPLATE_FOLDER}/_missing.html"


def no_context(request: HttpRequest) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Widget:
    key: str
    module: ModuleType  # demos/widgets/<key>.py: context, API views, routes
    data_routes: tuple[str, ...]
    context: WidgetContext = no_context

    @property
    def template_name(self) -> str:
        return f"{TEMPLATE_FOLDER}/{self.key}.html"


# --- The registry ---------------------------------------------------------------

WIDGETS: dict[str, Widget] = {
    widget.key: widget
    for widget in (
        Widget(
            "kernel-playground",
            kernel_playground,
            ("api:playground-kernel", "api:playground-conv-steps"),
            kernel_playground.kernel_context,
        ),
        Widget("output-size", output_size, ("api:playground-output-size",)),
        Widget(
            "pooling", pooling, ("api:playground-pooling",), pooling.samples_context
        ),
        Widget(
            "feature-maps",
            feature_maps,
            ("api:cnn-model-list", "api:feature-map-create"),
            feature_maps.feature_maps_context,
        ),
        Widget("draw-digit", draw_digit, ("api:digit-predict",)),
        Widget(
            "activations",
            activations,
            ("api:cnn-activations",),
            activations.activations_context,
        ),
        Widget("architectures", architectures, ("api:arch-comparison",)),
        # Shown inside the architectures widget (lesson 7).
        Widget(
            "stack-calculator",
            stack_calculator,
            ("api:stack-presets", "api:stack-calculate"),
        ),
        Widget(
            "transfer-learning",
            transfer_learning,
            ("api:arch-transfer-learning",),
            transfer_learning.transfer_context,
        ),
        Widget(
            "augmentation",
            augmentation,
            ("api:arch-augment-samples", "api:arch-augment-plan"),
            augmentation.augmentation_context,
        ),
        Widget(
            "iou-nms",
            iou_nms,
            ("api:playground-nms", "api:exercise-people"),
            iou_nms.detection_context,
        ),
        Widget(
            "autoencoder-tsne",
            autoencoder_tsne,
            ("api:cnn-autoencoder", "api:cnn-tsne"),
            autoencoder_tsne.tsne_context,
        ),
        Widget(
            "vision-tasks",
            vision_tasks,
            ("api:playground-vision-tasks",),
            vision_tasks.people_samples_context,
        ),
        Widget(
            "session-inspector",
            session_inspector,
            (
                "api:session-inspector",
                "api:session-tamper",
                "api:session-logout-elsewhere",
            ),
        ),
        Widget(
            "lstm-gates", lstm_gates, ("api:cnn-lstm-gates",), lstm_gates.lstm_context
        ),
        Widget(
            "training-curves",
            training_curves,
            ("api:training-run-create",),
            training_curves.training_context,
        ),
    )
}


# Every widget module, for the URLconf (demos/widgets/urls.py).
WIDGET_MODULES: tuple[ModuleType, ...] = tuple(w.module for w in WIDGETS.values())


def get_widget(key: str) -> Widget | None:
    """The registered widget, or None for an unknown key (or none at all)."""
    return WIDGETS.get(key)
