"""Admin for accounts: users, login limits (django-axes) and API tokens (knox)."""

from __future__ import annotations

from typing import Any

import knox.admin  # registers AuthToken first, so it can be swapped below
from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, SetUnusablePasswordMixin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

from accounts.forms import AdminLoginForm
from accounts.models import (
    ApiToken,
    Cohort,
    CohortMembership,
    FailedLogin,
    LoginLockout,
    LoginRecord,
    User,
)

# The admin's login goes through the same gate as the site's (axes counts both).
admin.site.login_form = AdminLoginForm


class PasswordChangeForm(AdminPasswordChangeForm):
    """Django's admin form, with its warning translated and valid inside ``<p>``.

    Django puts a ``<ul>`` in the help text, which its template wraps in ``<p>``
    (invalid HTML, the browser splits the paragraph), and the warning has no
    translation. A ``<span>`` with the same id and class keeps the admin's CSS/JS.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "usable_password" in self.fields:
            self.fields["usable_password"].help_text = format_html(
                '{} <span id="id_unusable_warning" class="messagelist">'
                '<span class="warning">{}</span></span>',
                SetUnusablePasswordMixin.usable_password_help_text,
                _("If disabled, the current password for this user will be lost."),
            )


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    change_password_form = PasswordChangeForm
    list_display = (
        "username",
        "display_name",
        "email",
        "is_staff",
        "is_active",
        "date_joined",
        "last_login",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "date_joined")
    search_fields = ("username", "display_name", "email")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Portal"), {"fields": ("display_name",)}))


class CohortMembershipInline(admin.TabularInline):
    model = CohortMembership
    fk_name = "cohort"
    extra = 0
    autocomplete_fields = ("student",)
    readonly_fields = ("joined", "added_by")


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin):
    """Classes; the class pages for instructors are at /teach/."""

    list_display = ("name", "term", "join_code", "student_count", "created")
    search_fields = ("name", "term", "join_code")
    readonly_fields = ("join_code", "public_id", "created")
    filter_horizontal = ("instructors",)
    inlines = (CohortMembershipInline,)

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).annotate(members=Count("memberships"))

    @admin.display(description=_("students"), ordering="members")
    def student_count(self, cohort: Cohort) -> int:
        return cohort.members


# Same tables as the libraries' own admin pages, under translated names.
class ApiTokenAdmin(knox.admin.AuthTokenAdmin):
    """knox's token admin; its columns get names (knox's fields have none)."""

    list_display = ("short_digest", "user", "created_at", "expires_at")

    @admin.display(description=_("token (digest)"), ordering="digest")
    def short_digest(self, token: AuthToken) -> str:
        return f"{token.digest[:12]}…"

    @admin.display(description=_("created"), ordering="created")
    def created_at(self, token: AuthToken) -> object:
        return token.created

    @admin.display(description=_("expiry"), ordering="expiry")
    def expires_at(self, token: AuthToken) -> object:
        return token.expiry


admin.site.unregister(AuthToken)
admin.site.register(ApiToken, ApiTokenAdmin)
admin.site.register(LoginLockout, AccessAttemptAdmin)
admin.site.register(LoginRecord, AccessLogAdmin)
admin.site.register(FailedLogin, AccessFailureLogAdmin)
