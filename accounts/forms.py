"""Forms validate input only; the login form also consults the rate limiter."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts import ratelimit
from accounts.models import User


class SignupForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "display_name", "email")
        labels = {"email": _("E-mail (optional, for password reset)")}


class RateLimitedLoginForm(AuthenticationForm):
    """Django's login form, refused early while the username or address is throttled."""

    def clean(self) -> dict:
        username = self.cleaned_data.get("username") or ""
        address = ratelimit.client_address(self.request)
        try:
            ratelimit.check_login_allowed(username=username, address=address)
        except ratelimit.LoginRateLimited as exc:
            raise forms.ValidationError(str(exc), code="rate_limited") from exc
        try:
            return super().clean()
        except forms.ValidationError:
            ratelimit.record_failed_login(username=username, address=address)
            raise


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"), max_length=60, required=False
    )
