"""The lesson widgets: one registry from a widget's key to its template, its
context and its data endpoints.

A lesson names its widget by key (``widget:`` in its Markdown front matter). The
key is the template ``demos/lessons/widgets/<key>.html``; ``context`` builds what
that template needs from the request (sample photos, presets, choices preset by
the query string, an owned person-demo run); ``data_routes`` are the routes under
the ``api`` namespace the widget's script reads, whose URLs the template hands to
it in ``data-*`` attributes. Template tags stay presentation only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.http import Http404, HttpRequest
from django.templatetags.static import static
from django.utils.translation import gettext_lazy

from demos.architectures import payloads as arch_payloads
from demos.cnn import services as cnn_services
from demos.lessons import selectors
from demos.ml import networks as cnn_models
from demos.ml.playgrounds import KERNELS
from demos.people.selectors import get_demo_run_for_user, list_demo_runs_for_user

WidgetContext = Callable[[HttpRequest], dict[str, Any]]

TEMPLATE_FOLDER = "demos/lessons/widgets"
MISSING_TEMPLATE = f"{TEMPLATE_FOLDER}/_missing.html"
RUN_MODEL = "yolox-nano"  # "what the detector saw" opens on the detector itself
DIGITS_CONV1_CHANNELS = 6

KERNEL_LABELS = {
    "identity": gettext_lazy("Identity"),
    "box-blur": gettext_lazy("Box blur 3x3"),
    "gaussian": gettext_lazy("Gaussian blur 3x3"),
    "sharpen": gettext_lazy("Sharpen"),
    "sobel-x": gettext_lazy("Sobel x (vertical edges)"),
    "sobel-y": gettext_lazy("Sobel y (horizontal edges)"),
    "laplacian": gettext_lazy("Laplacian"),
    "emboss": gettext_lazy("Emboss"),
    "box-blur-5": gettext_lazy("Box blur 5x5"),
    "gaussian-5": gettext_lazy("Gaussian blur 5x5"),
}


def no_context(request: HttpRequest) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Widget:
    key: str
    data_routes: tuple[str, ...]
    context: WidgetContext = no_context

    @property
    def template_name(self) -> str:
        return f"{TEMPLATE_FOLDER}/{self.key}.html"


# --- Contexts -------------------------------------------------------------------


def _kernel_text(name: str) -> str:
    """A preset as the student would type it: "1/9" rather than 0.1111."""

    def cell(value: float) -> str:
        return str(Fraction(float(value)).limit_denominator(256))

    return "\n".join(" ".join(cell(v) for v in row) for row in KERNELS[name])


def _lesson_samples(*, with_people: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "key": sample.key,
            "title": str(sample.title),
            "url": sample.url,
            "has_people": bool(sample.people),
        }
        for sample in selectors.lesson_samples(with_people=with_people)
    ]


def samples_context(request: HttpRequest) -> dict[str, Any]:
    return {"samples": _lesson_samples()}


def people_samples_context(request: HttpRequest) -> dict[str, Any]:
    return {"samples": _lesson_samples(with_people=True)}


EXERCISE_RUNS = 10


def detection_context(request: HttpRequest) -> dict[str, Any]:
    """Photos with people for NMS, and the student's latest person-demo runs for
    the "every person one by one" exercise."""
    runs = []
    if request.user.is_authenticated:
        runs = list(list_demo_runs_for_user(request.user)[:EXERCISE_RUNS])
    return {"samples": _lesson_samples(with_people=True), "exercise_runs": runs}


def kernel_context(request: HttpRequest) -> dict[str, Any]:
    presets = [
        {"name": name, "label": str(KERNEL_LABELS[name]), "text": _kernel_text(name)}
        for name in KERNELS
    ]
    return {"samples": _lesson_samples(), "kernel_presets": presets}


def _cnn_samples(request: HttpRequest) -> tuple[list[dict[str, str]], str]:
    """The CNN sample photos and the one to preselect (``?sample=``, else the first)."""
    samples = [
        {**sample, "url": static(sample["static_path"])}
        for sample in cnn_services.list_samples()
    ]
    names = [sample["name"] for sample in samples]
    wanted = request.GET.get("sample")
    return samples, wanted if wanted in names else (names[0] if names else "")


def _owned_run_id(request: HttpRequest) -> tuple[str, bool]:
    """(``?run=`` id, False) for a run the user may see; ("", True) for any other."""
    raw = request.GET.get("run")
    if not raw:
        return "", False
    try:
        run = get_demo_run_for_user(request.user, raw)
    except Http404:  # not a UUID, not this user's run, or gone
        return "", True
    return str(run.public_id), False


def feature_maps_context(request: HttpRequest) -> dict[str, Any]:
    """Samples, every model with its availability (and fix), and the preset choices."""
    samples, sample = _cnn_samples(request)
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
    run_id, run_missing = _owned_run_id(request)
    model = request.GET.get("model")
    if model not in available:
        model = RUN_MODEL if run_id and RUN_MODEL in available else None
    options = {
        "samples": samples,
        "sample": sample,
        "models": models,
        "unavailable": [row for row in models if not row["available"]],
        "model": model or cnn_models.DEFAULT_MODEL,
        "run_id": run_id,
        "run_missing": run_missing,
    }
    return {"options": options}


def activations_context(request: HttpRequest) -> dict[str, Any]:
    samples, sample = _cnn_samples(request)
    options = {
        "samples": samples,
        "sample": sample,
        "channels": list(range(DIGITS_CONV1_CHANNELS)),
    }
    return {"options": options}


def augmentation_context(request: HttpRequest) -> dict[str, Any]:
    # Rendered here, not filled in by the script later: the select shows the photo
    # the grid is made of from the first paint on.
    return {"samples": arch_payloads.samples_payload()["samples"]}


LSTM_GATE_ROWS = (
    ("input_gate", gettext_lazy("Input gate i: how much of the candidate is written")),
    ("forget_gate", gettext_lazy("Forget gate f: how much of the old cell is kept")),
    ("output_gate", gettext_lazy("Output gate o: how much of the cell is shown")),
    ("cell", gettext_lazy("Cell state c")),
)


def lstm_context(request: HttpRequest) -> dict[str, Any]:
    return {"gate_rows": [(name, str(title)) for name, title in LSTM_GATE_ROWS]}


def training_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "training_subsets": [20, 50, 100, 200, 500, 1437],
        "training_epochs": [10, 20, 30, 40, 60],
        "training_rates": [0.0001, 0.001, 0.01, 0.1, 1.0],
    }


# --- The registry ---------------------------------------------------------------

WIDGETS: dict[str, Widget] = {
    widget.key: widget
    for widget in (
        Widget(
            "kernel-playground",
            ("api:playground-kernel", "api:playground-conv-steps"),
            kernel_context,
        ),
        Widget("output-size", ("api:playground-output-size",)),
        Widget("pooling", ("api:playground-pooling",), samples_context),
        Widget(
            "feature-maps",
            ("api:cnn-model-list", "api:feature-map-create"),
            feature_maps_context,
        ),
        Widget("draw-digit", ("api:digit-predict",)),
        Widget("activations", ("api:cnn-activations",), activations_context),
        Widget("architectures", ("api:arch-comparison",)),
        Widget("transfer-learning", ("api:arch-transfer-learning",)),
        Widget(
            "augmentation",
            ("api:arch-augment-samples", "api:arch-augment-plan"),
            augmentation_context,
        ),
        Widget(
            "iou-nms",
            ("api:playground-nms", "api:exercise-people"),
            detection_context,
        ),
        Widget("autoencoder-tsne", ("api:cnn-autoencoder",)),
        Widget(
            "vision-tasks",
            ("api:playground-vision-tasks",),
            people_samples_context,
        ),
        Widget("session-inspector", ("api:session-inspector",)),
        Widget("lstm-gates", ("api:cnn-lstm-gates",), lstm_context),
        Widget("training-curves", ("api:training-run-create",), training_context),
    )
}


def get_widget(key: str) -> Widget | None:
    """The registered widget, or None for an unknown key (or none at all)."""
    return WIDGETS.get(key)
