"""Reads for the person demo: owned runs, shown persons, detector states.

Every view, API endpoint and file-serving view fetches a run through
``get_demo_run_for_user`` so ownership is checked in one place: another user's
run is a 404 (never a 403, which would confirm that it exists); staff see all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.files import File
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils.translation import gettext, gettext_noop

from demos.common import media
from demos.common.ownership import get_owned_or_404, visible_to
from demos.ml.detection.agreement import Agreement, agreement
from demos.ml.detection.detectors import ModelState, detector_choices, is_fallback
from demos.models import DemoRun, Detection
from models_store.registry import REGISTRY


def _visible_runs(user: AbstractBaseUser | AnonymousUser) -> QuerySet[DemoRun]:
    return visible_to(user, DemoRun.objects.select_related("owner"))


def get_demo_run_for_user(
    user: AbstractBaseUser | AnonymousUser, public_id: uuid.UUID | str
) -> DemoRun:
    """The run with this public id if ``user`` may see it, else ``Http404``."""
    return get_owned_or_404(
        user, DemoRun.objects.select_related("owner"), public_id, missing="No such run."
    )


def list_demo_runs_for_user(
    user: AbstractBaseUser | AnonymousUser, *, include_others: bool = False
) -> QuerySet[DemoRun]:
    """Newest first, each annotated with ``shown_count`` (persons at its threshold).

    ``include_others`` lets staff list every student's runs (history page);
    without it everyone, staff included, gets only their own (the API).
    """
    runs = _visible_runs(user)
    if not include_others:
        runs = runs.filter(owner_id=getattr(user, "pk", None))
    return runs.annotate(
        shown_count=Count(
            "detections",
            filter=Q(detections__score__gte=F("score_threshold")),
        )
    ).order_by("-created", "-pk")


def with_detections(runs: QuerySet[DemoRun]) -> QuerySet[DemoRun]:
    """Prefetch each run's detections in rank order (one query for a page of runs)."""
    return runs.prefetch_related(
        Prefetch("detections", queryset=Detection.objects.order_by("rank"))
    )


def persons_above(run: DemoRun, threshold: float | None = None) -> list[Detection]:
    """The run's detections scoring at least ``threshold`` (default: the run's own).

    Left to right; the person's shown number is the box's ``rank`` (stable when
    the threshold moves).
    """
    limit = run.score_threshold if threshold is None else threshold
    return [d for d in run.detections.all() if d.score >= limit]


def truth_agreement(run: DemoRun, threshold: float | None = None) -> Agreement | None:
    """Precision, recall and IoU of the run's boxes at ``threshold`` against the
    student's own boxes; None until the student has corrected the run."""
    if run.truth_boxes is None:
        return None
    return agreement([d.box for d in persons_above(run, threshold)], run.truth_boxes)


def detector_states() -> dict[str, ModelState]:
    """Every registered person detector by key, with its state (ready, missing...)."""
    return {state.spec.key: state for state in detector_choices()}


def is_available(state: ModelState) -> bool:
    return state.state in ("ready", "builtin")


def default_threshold(state: ModelState | None) -> float:
    """The detector's own default threshold (score scales differ between models)."""
    if state is None:
        return settings.DEFAULT_SCORE_THRESHOLD
    return state.spec.default_threshold


# The registry's detector names that are words, not model names, marked so that
# ``make messages`` keeps their Korean; ``detector_name`` translates at run time.
TRANSLATED_NAMES = (
    gettext_noop("OpenCV HOG people detector"),
    gettext_noop("YOLOX-Nano + PicoDet-S (weighted boxes fusion)"),
    gettext_noop("PicoDet-S 640 person counter (adaptive tiles, doubt range)"),
)


def detector_name(key: str) -> str:
    """A detector's name in the user's language (model names stay as they are)."""
    spec = REGISTRY.get(key)
    return gettext(spec.name) if spec is not None else key


@dataclass(frozen=True)
class DetectorDescription:
    """What a result page says about the detector that made it."""

    key: str
    name: str
    parts: list[str]  # the part detectors' names, for a fused detector
    family: str
    decoder: str | None
    is_fallback: bool
    pipeline: str | None = None  # "tiled": the person counter


def detector_description(key: str) -> DetectorDescription:
    """Name, parts and kind of a detector (a run may name one no longer registered)."""
    spec = REGISTRY.get(key)
    if spec is None:
        return DetectorDescription(key, key, [], "", None, is_fallback(key))
    parts = [detector_name(p) for p in spec.parts]
    return DetectorDescription(
        key,
        detector_name(key),
        parts,
        spec.family,
        spec.decoder,
        is_fallback(key),
        spec.pipeline,
    )


# Stored files of a run (a folder or a bucket), named relative to MEDIA_ROOT.
RUNS_DIR = "runs"


def run_file(run: DemoRun, relative: str) -> str:
    """Storage name of a stored file of the run; refused if outside ``runs/``."""
    return media.checked_name(relative, RUNS_DIR)


def open_run_file(run: DemoRun, relative: str) -> File:
    """A stored file of the run, open for reading (``FileNotFoundError`` if gone)."""
    return media.open_file(run_file(run, relative))


def read_run_file(run: DemoRun, relative: str) -> bytes:
    return media.read_bytes(run_file(run, relative))
