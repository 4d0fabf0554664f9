"""Forms validate input only; the login form also consults the rate limiter."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts import ratelimit
from accounts.models import User


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name", "email")
        labels = {"email": _("E-mail (optional, for password reset)")}


class GatedLoginMixin:
    """One password check at a time per username and address, for a login form.

    django-axes (its backend runs inside ``authenticate``) counts the failures and
    refuses a locked pair; the gate makes that count exact under parallel tries.
    """

    def clean(self) -> dict:
        try:
            with ratelimit.login_gate(
                self.request,
                username=self.cleaned_data.get("username") or "",
                address=ratelimit.client_address(self.request),
            ) as attempt:
                try:
                    return super().clean()
                except forms.ValidationError:
                    attempt.failed()
                    raise
        except ratelimit.LoginRateLimited as exc:
            raise forms.ValidationError(str(exc), code="rate_limited") from exc


class RateLimitedLoginForm(GatedLoginMixin, AuthenticationForm):
    """The site's login page."""


class AdminLoginForm(GatedLoginMixin, AdminAuthenticationForm):
    """``/admin/login/`` (``admin.site.login_form``): staff only, same limits."""


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=60, required=False
    )


class JoinClassForm(forms.Form):
    code = forms.CharField(
        label=_("Join code"),
        max_length=20,
        help_text=_("The code your instructor gave you, such as K7QM3P."),
    )
