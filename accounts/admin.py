from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import LoginBucket, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
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


@admin.register(LoginBucket)
class LoginBucketAdmin(admin.ModelAdmin):
    list_display = ("key", "tokens", "updated")
    readonly_fields = ("key", "tokens", "updated")
