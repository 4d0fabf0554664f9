"""Forms of the class pages: they validate input only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.services import identifiers_from_csv

MAX_CSV_BYTES = 200_000


class ClassCreateForm(forms.Form):
    name = forms.CharField(label=_("Class name"), max_length=80)
    term = forms.CharField(
        label=_("Term"),
        max_length=40,
        required=False,
        help_text=_("For example 2026 spring, evening group."),
    )


class AddStudentsForm(forms.Form):
    names = forms.CharField(
        label=_("Usernames or e-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line (or separated by commas)."),
    )
    csv_file = forms.FileField(
        label=_("…or a CSV file"),
        required=False,
        help_text=_("The first column of each row: a username or an e-mail address."),
    )

    def clean_csv_file(self) -> str:
        upload = self.cleaned_data.get("csv_file")
        if not upload:
            return ""
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(
                _("The CSV file is too large (at most %(kb)d KB).")
                % {"kb": MAX_CSV_BYTES // 1000}
            )
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The CSV file is not UTF-8 text.")) from None

    def clean(self) -> dict:
        data = super().clean()
        if not (data.get("names") or "").strip() and not data.get("csv_file"):
            raise forms.ValidationError(
                _("Type at least one username or e-mail, or choose a CSV file.")
            )
        return data

    def identifiers(self) -> list[tuple[int, str]]:
        """``(row, value)`` of the typed names (commas split rows) then of the
        file's rows (a header row skipped), for ``accounts.services.add_students``."""
        typed = (self.cleaned_data.get("names") or "").replace(",", "\n")
        return identifiers_from_csv(typed) + identifiers_from_csv(
            self.cleaned_data["csv_file"]
        )


class ThisWeekForm(forms.Form):
    lesson = forms.ChoiceField(label=_("This week's lesson"), required=False)

    def __init__(self, *args: object, lessons: list, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lesson"].choices = [("", "—")] + [
            (lesson.slug, f"{lesson.order}. {lesson.title}") for lesson in lessons
        ]
