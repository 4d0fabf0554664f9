"""Forms of the person demo: upload photos, compare detectors, pick a threshold.

Forms only validate input. The detector field lists the detectors a student can
use; staff also see the unavailable ones, disabled, with the command that fixes
each. An unavailable detector is refused if posted anyway.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from demos.common.samples import SAMPLES
from demos.ml.detection.detectors import ModelState
from demos.models import DemoRun
from demos.people.selectors import (
    default_threshold,
    detector_name,
    detector_states,
    is_available,
)
from portal.lib.forms import BoundedFloatField


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files from one ``<input type=file multiple>`` (Django docs' recipe)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(
                attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
            ),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data]
        files = [f for f in files if f]
        if not files:
            if not self.required:
                return []  # a shipped sample stands in (PeopleUploadForm.sample)
            raise forms.ValidationError(self.error_messages["required"], "required")
        limit = settings.MAX_FILES_PER_UPLOAD
        if len(files) > limit:
            raise forms.ValidationError(
                ngettext(
                    "You can upload at most %(limit)d photo at once.",
                    "You can upload at most %(limit)d photos at once.",
                    limit,
                )
                % {"limit": limit},
                code="too_many_files",
            )
        # Each file's content is checked by the service, so one bad photo does
        # not block the good ones; only the field-level shape is checked here.
        return files


class DetectorSelect(forms.Select):
    """A select whose unavailable options are disabled (the reason is in the label)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.disabled_values: set[str] = set()
        self.thresholds: dict[str, float] = {}

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict:
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        if str(value) in self.thresholds:
            # people.js moves the threshold slider to the chosen detector's default.
            option["attrs"]["data-default-threshold"] = self.thresholds[str(value)]
        return option


class DetectorChoiceField(forms.ChoiceField):
    """Every registered detector; refuses unavailable ones with reason and fix."""

    widget = DetectorSelect

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.states: dict[str, ModelState] = {}

    def load_states(self, *, show_unavailable: bool = False) -> None:
        """Read the store now (per form, not at import: files come and go).

        Without ``show_unavailable`` (students) only usable detectors are offered.
        """
        self.states = detector_states()
        if not show_unavailable:
            self.states = {k: s for k, s in self.states.items() if is_available(s)}
        self.widget.disabled_values = set()
        self.widget.thresholds = {
            key: default_threshold(state) for key, state in self.states.items()
        }
        choices = []
        for key, state in self.states.items():
            label = detector_name(state.spec.key)
            if not is_available(state):
                # The reason is long; the page lists it next to the select.
                label = _("%(name)s — unavailable (fix: %(fix)s)") % {
                    "name": label,
                    "fix": state.fix,
                }
                self.widget.disabled_values.add(key)
            choices.append((key, label))
        self.choices = choices

    def validate(self, value: str) -> None:
        super().validate(value)  # a student's list has no unavailable detector
        state = self.states.get(value)
        if state is not None and not is_available(state):
            raise forms.ValidationError(
                _("%(name)s is not available: %(reason)s Fix: %(fix)s")
                % {"name": state.spec.name, "reason": state.reason, "fix": state.fix},
                code="unavailable",
            )


def _threshold_field(**kwargs: Any) -> BoundedFloatField:
    return BoundedFloatField(
        label=_("Score threshold"),
        min_value=0.0,
        max_value=1.0,
        required=False,
        widget=forms.NumberInput(
            attrs={"type": "range", "min": "0", "max": "1", "step": "0.01"}
        ),
        help_text=_(
            "Boxes scoring below this are hidden. You can move it later on the "
            "result page without running the model again."
        ),
        **kwargs,
    )


class PeopleUploadForm(forms.Form):
    images = MultipleImageField(label=_("Photos"))
    # A shipped sample by key (``/demos/people/?sample=cyclists`` from a lesson): the
    # server reads the file itself, so the student needs no download and re-upload.
    sample = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[("", "")] + [(key, s.title) for key, s in SAMPLES.items()],
    )
    detector = DetectorChoiceField(label=_("Detector"))
    score_threshold = _threshold_field()
    # A one-time key per rendered form: a double submit makes one run (views.py).
    submission = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        default_detector: str = "",
        show_unavailable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Photos are required unless a sample is chosen; chosen files win over it.
        source = self.data if self.is_bound else self.initial
        chosen = source.get("sample")
        self.fields["images"].required = chosen not in SAMPLES
        self.fields["submission"].initial = uuid.uuid4()
        self.fields["images"].help_text = _(
            "JPEG, PNG, WEBP or GIF, up to %(count)d at once."
        ) % {"count": settings.MAX_FILES_PER_UPLOAD}
        detector = self.fields["detector"]
        detector.load_states(show_unavailable=show_unavailable)
        detector.initial = default_detector
        self.fields["score_threshold"].initial = default_threshold(
            detector.states.get(default_detector)
        )


class CompareForm(forms.Form):
    detector = DetectorChoiceField(label=_("Compare with"))

    def __init__(
        self,
        *args: Any,
        exclude: str = "",
        show_unavailable: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["detector"]
        field.load_states(show_unavailable=show_unavailable)
        # Comparing a detector with itself teaches nothing: offer the others.
        field.choices = [(k, v) for k, v in field.choices if k != exclude]
        field.states.pop(exclude, None)


class ThresholdForm(forms.Form):
    """``?score_threshold=`` on the result page; invalid values fall back silently."""

    score_threshold = _threshold_field()


def requested_threshold(
    query: QueryDict, run: DemoRun, name: str = "score_threshold"
) -> float:
    """``?<name>=`` (``score_threshold``) when valid (0-1), else the run's threshold."""
    if name != "score_threshold":
        query = query.copy()
        query.setlist("score_threshold", query.getlist(name))
    form = ThresholdForm(query)
    value = form.cleaned_data["score_threshold"] if form.is_valid() else None
    return run.score_threshold if value is None else value
