"""Admin for the model store: live state of every registered model, provenance rows.

The change list shows a table of every registry entry with its state read from disk
(the same ``store.all_states()`` the ``models list`` command prints), plus the
``ModelFile`` rows. Downloading happens only when staff press a button or run an
action (POST), never on page load.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from models_store import store
from models_store.download import ChecksumMismatch, WeightsUnavailable
from models_store.labels import licence_label, state_label, task_label
from models_store.models import ModelFile
from models_store.registry import REGISTRY, UnknownModel


def _pull_with_message(request: HttpRequest, key: str) -> None:
    try:
        path = store.pull(key)
    except (WeightsUnavailable, ChecksumMismatch, UnknownModel) as exc:
        messages.error(request, str(exc))
        return
    # Messages start with the display name: the admin capitalises the first letter.
    name = REGISTRY[key].name
    if path is None and not REGISTRY[key].is_fusion:
        messages.info(request, gettext("%(name)s is built in.") % {"name": name})
    else:
        messages.success(request, gettext("%(name)s is ready.") % {"name": name})


def _report_state(request: HttpRequest, state: store.ModelState) -> None:
    if state.is_available:
        messages.success(
            request, gettext("%(name)s: verified.") % {"name": state.spec.name}
        )
    else:
        messages.warning(
            request,
            gettext("%(name)s: %(reason)s Fix: %(fix)s")
            % {"name": state.spec.name, "reason": state.reason, "fix": state.fix},
        )


@admin.register(ModelFile)
class ModelFileAdmin(admin.ModelAdmin):
    list_display = ("key", "model_name", "live_state", "size", "source", "added_at")
    list_filter = ("source",)
    readonly_fields = ("key", "filename", "sha256", "size", "source", "added_at")
    actions = ("verify_selected", "download_selected")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from `models import` / `models pull`

    @admin.display(description=_("name"))
    def model_name(self, obj: ModelFile) -> str:
        # Catalogue names are msgids (marked where the person demo lists them).
        return gettext(obj.display_name)

    @admin.display(description=_("state on disk"))
    def live_state(self, obj: ModelFile) -> str:
        if obj.key not in REGISTRY:
            return gettext("not registered")
        return state_label(store.model_state(obj.key).state)

    @admin.action(description=_("Verify the selected files (re-hash)"))
    def verify_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        store.clear_digest_cache()
        for row in queryset:
            if row.key in REGISTRY:
                _report_state(request, store.model_state(row.key))

    @admin.action(description=_("Download the selected models again if needed"))
    def download_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset:
            _pull_with_message(request, row.key)

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "pull/<str:key>/",
                self.admin_site.admin_view(require_POST(self.pull_view)),
                name="models_store_modelfile_pull",
            ),
            path(
                "verify-all/",
                self.admin_site.admin_view(require_POST(self.verify_all_view)),
                name="models_store_modelfile_verify_all",
            ),
        ]
        return extra + super().get_urls()

    def _back(self) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:models_store_modelfile_changelist"))

    def pull_view(self, request: HttpRequest, key: str) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        if key not in REGISTRY:
            get_object_or_404(ModelFile, key=key)  # → 404 for unknown keys
        _pull_with_message(request, key)
        return self._back()

    def verify_all_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            return HttpResponse(status=403)
        for state in store.verify_all():
            if state.state != "builtin":
                _report_state(request, state)
        return self._back()

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "model_rows": [
                {
                    "state": state,
                    "task": task_label(state.spec.task),
                    "state_label": state_label(state.state),
                    "licence": licence_label(state.spec.license),
                }
                for state in store.all_states()
            ],
            "can_change": self.has_change_permission(request),
            "serving_fallback": store.is_serving_fallback(),
        }
        return super().changelist_view(request, extra_context)
