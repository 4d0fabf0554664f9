"""Admin for the demos app.

Person demo: runs with their detections inline and thumbnails served through
the ownership-checked file views (staff may see all). Deleting a run in the
admin goes through ``delete_demo_run`` so its files go too.

Transfer learning: instructors upload class datasets (ImageFolder ZIPs, checked by
the same reader as a student's upload before anything is stored) and read the
students' runs; deleting either goes through its service, which removes its files.
"""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from demos.lessons.selectors import PROGRESS_CSV_HEADER, progress_rows
from demos.models import (
    ClassDataset,
    DemoRun,
    Detection,
    DetectionJob,
    Lesson,
    LessonProgress,
    QuizScore,
    TransferRun,
)
from demos.people import services
from demos.widgets import transfer_datasets, transfer_runs
from models_store.registry import REGISTRY
from portal.lib.errors import BadInput

# --- Person demo ---------------------------------------------------------------


class DetectionInline(admin.TabularInline):
    model = Detection
    extra = 0
    can_delete = False
    fields = ("rank", "crop", "score", "x1", "y1", "x2", "y2")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: DemoRun | None) -> bool:
        return False

    @admin.display(description=_("crop"))
    def crop(self, detection: Detection) -> SafeString:
        url = reverse(
            "demos:people-crop",
            kwargs={"public_id": detection.run.public_id, "rank": detection.rank},
        )
        return format_html('<img src="{}" alt="" height="64">', url)


@admin.register(DemoRun)
class DemoRunAdmin(admin.ModelAdmin):
    # What an instructor looks for: whose photo, how many people, which model, when.
    list_display = (
        "thumbnail",
        "owner",
        "person_count",
        "detector_name",
        "original_name",
        "created_at",
    )
    list_display_links = ("thumbnail", "original_name")
    list_filter = ("detector", "created")
    search_fields = ("public_id", "owner__username", "original_name")
    date_hierarchy = "created"
    list_select_related = ("owner",)
    inlines = [DetectionInline]
    readonly_fields = (
        "annotated",
        "public_id",
        "owner",
        "detector",
        "score_threshold",
        "person_count",
        "original_name",
        "image_width",
        "image_height",
        "image_sha256",
        "elapsed_ms",
        "compared_with",
        "created",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Runs come from uploads only: they need files made by the service.
        return False

    @admin.display(description=_("thumbnail"))
    def thumbnail(self, run: DemoRun) -> SafeString:
        url = reverse("demos:people-thumb", kwargs={"public_id": run.public_id})
        return format_html('<img src="{}" alt="" height="48">', url)

    @admin.display(description=_("annotated photo"))
    def annotated(self, run: DemoRun) -> SafeString:
        url = reverse("demos:people-annotated", kwargs={"public_id": run.public_id})
        return format_html('<img src="{}" alt="" width="480">', url)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The count a student saw: boxes at or above the run's own threshold.
        above = Q(detections__score__gte=F("score_threshold"))
        return (
            super()
            .get_queryset(request)
            .annotate(persons=Count("detections", filter=above))
        )

    @admin.display(description=_("persons"), ordering="persons")
    def person_count(self, run: DemoRun) -> int:
        return run.persons

    @admin.display(description=_("detector"), ordering="detector")
    def detector_name(self, run: DemoRun) -> str:
        spec = REGISTRY.get(run.detector)
        return spec.name if spec else run.detector

    @admin.display(description=_("created"), ordering="created")
    def created_at(self, run: DemoRun) -> str:
        return date_format(localtime(run.created), "DATETIME_FORMAT")

    def delete_model(self, request: HttpRequest, obj: DemoRun) -> None:
        services.delete_demo_run(run=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for run in queryset:
            services.delete_demo_run(run=run)


# --- Lessons -------------------------------------------------------------------


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ("order", "slug", "title_en", "title_ko", "widget", "done_count")
    list_display_links = ("order", "slug")
    list_filter = ("widget",)
    search_fields = ("slug", "title_en", "title_ko", "body_en", "body_ko")
    ordering = ("order",)
    readonly_fields = ("preview_en", "preview_ko", "updated")
    fieldsets = (
        (None, {"fields": ("slug", "order", "widget", "updated")}),
        (
            _("English"),
            {"fields": ("title_en", "summary_en", "body_en", "preview_en")},
        ),
        (
            _("Korean"),
            {"fields": ("title_ko", "summary_ko", "body_ko", "preview_ko")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(done_by=Count("progress"))

    @admin.display(description=_("students done"), ordering="done_by")
    def done_count(self, lesson: Lesson) -> int:
        return lesson.done_by

    def view_on_site(self, lesson: Lesson) -> str:
        return reverse("lessons:detail", args=[lesson.slug])

    def _preview(self, markdown_text: str) -> SafeString:
        from demos.lessons.loading import render_markdown

        # render_markdown sanitises with an allow-list, so its output is safe.
        html = render_markdown(markdown_text)
        return SafeString(f'<div class="lesson-preview">{html}</div>')

    @admin.display(description=_("preview (English)"))
    def preview_en(self, lesson: Lesson) -> SafeString:
        return self._preview(lesson.body_en)

    @admin.display(description=_("preview (Korean)"))
    def preview_ko(self, lesson: Lesson) -> SafeString:
        return self._preview(lesson.body_ko)


@admin.action(description=_("Export these students' progress and scores (CSV)"))
def export_progress_csv(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> HttpResponse:
    """Every lesson of each student among the selected rows: done, quiz results."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="lesson-progress.csv"'
    response.write("\ufeff")  # Excel reads Korean names as UTF-8 with a BOM
    writer = csv.writer(response)
    writer.writerow(PROGRESS_CSV_HEADER)
    writer.writerows(progress_rows(queryset.values_list("user_id", flat=True)))
    return response


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ("user", "lesson", "completed_at")
    list_filter = ("lesson",)
    search_fields = ("user__username", "lesson__slug")
    ordering = ("-completed_at",)
    raw_id_fields = ("user",)
    list_select_related = ("user", "lesson")
    actions = [export_progress_csv]


@admin.register(QuizScore)
class QuizScoreAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "lesson",
        "score",
        "attempts",
        "passed",
        "best_at",
    )
    list_filter = ("passed", "lesson")
    search_fields = ("user__username", "lesson__slug")
    ordering = ("user__username", "lesson__order")
    readonly_fields = (
        "user",
        "lesson",
        "best_score",
        "last_score",
        "total",
        "attempts",
        "passed",
        "first_at",
        "best_at",
    )
    list_select_related = ("user", "lesson")
    actions = [export_progress_csv]

    @admin.display(description=_("best score"), ordering="best_score")
    def score(self, row: QuizScore) -> str:
        return f"{row.best_score}/{row.total}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # scores come from the quiz API only


@admin.register(DetectionJob)
class DetectionJobAdmin(admin.ModelAdmin):
    """Instructors see every queued, running and failed job, with the reason."""

    list_display = (
        "public_id",
        "owner",
        "state",
        "progress",
        "detector",
        "original_name",
        "attempts",
        "created",
        "finished",
    )
    list_filter = ("state", "detector", "created")
    search_fields = ("public_id", "owner__username", "original_name", "detail")
    list_select_related = ("owner",)
    readonly_fields = [field.name for field in DetectionJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# --- Transfer learning -----------------------------------------------------------


class ClassDatasetForm(forms.ModelForm):
    """The add form: the fields and the ZIP, read and checked before anything is
    stored (a bad ZIP is a form error with the reason)."""

    zip_upload = forms.FileField(
        label=_("ImageFolder ZIP"),
        help_text=_(
            "One folder per class with its photos (cats/1.jpg, dogs/7.jpg, …): "
            "2 to 40 classes, at most 400 photos; optionally train/ and val/ "
            "folders around the class folders."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    class Meta:
        model = ClassDataset
        fields = ("name", "description", "cohort")

    def clean_zip_upload(self) -> Any:
        upload = self.cleaned_data["zip_upload"]
        try:
            self.zip_data = transfer_datasets.read_zip_upload(upload)
            self.image_folder = transfer_datasets.check_dataset_zip(self.zip_data)
        except BadInput as exc:
            raise forms.ValidationError(
                _("This ZIP cannot be used: %(reason)s"), params={"reason": str(exc)}
            ) from exc
        return upload


@admin.register(ClassDataset)
class ClassDatasetAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "shared_with",
        "class_summary",
        "image_count",
        "uploaded_by",
        "created",
    )
    list_filter = ("cohort",)
    search_fields = ("name", "description")
    list_select_related = ("cohort", "uploaded_by")
    change_fields = (
        "name",
        "description",
        "cohort",
        "class_table",
        "image_count",
        "zip_size",
        "uploaded_by",
        "created",
    )
    change_readonly = ("class_table", "image_count", "zip_size", "uploaded_by")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Instructors see the shared datasets, their classes' and their own.
        return transfer_datasets.visible_class_datasets(request.user).select_related(
            "cohort", "uploaded_by"
        )

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "cohort" and not request.user.is_superuser:
            kwargs["queryset"] = request.user.taught_cohorts.all()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(
        self, request: HttpRequest, obj: ClassDataset | None = None, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ClassDatasetForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(
        self, request: HttpRequest, obj: ClassDataset | None = None
    ) -> tuple[str, ...]:
        if obj is None:
            return ("name", "description", "cohort", "zip_upload")
        return self.change_fields

    def get_readonly_fields(
        self, request: HttpRequest, obj: ClassDataset | None = None
    ) -> tuple[str, ...]:
        return () if obj is None else (*self.change_readonly, "created")

    def save_model(
        self,
        request: HttpRequest,
        obj: ClassDataset,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        if change:
            obj.save()
            return
        stored = transfer_datasets.create_class_dataset(
            name=obj.name,
            description=obj.description,
            cohort=obj.cohort,
            uploaded_by=request.user,
            data=form.zip_data,
            folder=form.image_folder,
        )
        # The admin goes on with ``obj`` (its log entry, the redirect).
        for field in ClassDataset._meta.concrete_fields:
            setattr(obj, field.attname, getattr(stored, field.attname))
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: ClassDataset) -> None:
        transfer_datasets.delete_class_dataset(dataset=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for dataset in queryset:
            transfer_datasets.delete_class_dataset(dataset=dataset)

    @admin.display(description=_("classes (images)"))
    def class_summary(self, dataset: ClassDataset) -> str:
        shown = [f"{row['name']} ({row['count']})" for row in dataset.classes[:8]]
        more = len(dataset.classes) - len(shown)
        if more > 0:
            shown.append(_("%(count)d more") % {"count": more})
        return ", ".join(shown)

    @admin.display(description=_("shared with"), ordering="cohort__name")
    def shared_with(self, dataset: ClassDataset) -> str:
        return str(dataset.cohort) if dataset.cohort else _("every student")

    @admin.display(description=_("ZIP size"))
    def zip_size(self, dataset: ClassDataset) -> str:
        return filesizeformat(dataset.zip_bytes)

    @admin.display(description=_("image classes"))
    def class_table(self, dataset: ClassDataset) -> SafeString:
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
            (
                (
                    row["name"],
                    row["count"],
                    format_html('<img src="{}" alt="" height="64">', url)
                    if url
                    else "",
                )
                for row, url in zip(
                    dataset.classes,
                    transfer_datasets.preview_data_urls(dataset),
                    strict=True,
                )
            ),
        )
        return format_html(
            '<table class="class-dataset-classes"><thead><tr><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("image class"),
            _("images"),
            _("first images"),
            rows,
        )


@admin.register(TransferRun)
class TransferRunAdmin(admin.ModelAdmin):
    """The students' runs, read-only: whose, how far, how good, and why one failed."""

    list_display = (
        "created",
        "owner",
        "state",
        "class_list",
        "epochs_done",
        "accuracy",
        "class_dataset",
    )
    list_filter = ("state", "created")
    search_fields = ("public_id", "owner__username", "detail")
    list_select_related = ("owner", "class_dataset")
    fields = (
        "public_id",
        "owner",
        "state",
        "detail",
        "class_dataset",
        "class_list",
        "epochs_done",
        "accuracy",
        "options",
        "created",
        "started",
        "finished",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs come from the transfer page and its API

    def has_change_permission(
        self, request: HttpRequest, obj: TransferRun | None = None
    ) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: TransferRun) -> None:
        transfer_runs.delete_transfer_run(run=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for run in queryset:
            transfer_runs.delete_transfer_run(run=run)

    @admin.display(description=_("image classes"))
    def class_list(self, run: TransferRun) -> str:
        return ", ".join(run.classes)

    @admin.display(description=_("epochs"))
    def epochs_done(self, run: TransferRun) -> str:
        return f"{len(run.curves)}/{run.options.get('epochs', '?')}"

    @admin.display(description=_("validation accuracy"))
    def accuracy(self, run: TransferRun) -> str:
        value = (run.result or {}).get("val_accuracy", run.val_accuracy)
        return "—" if value is None else f"{100 * value:.1f} %"
