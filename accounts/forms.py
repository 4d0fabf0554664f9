"""Forms validate input only; the login form also consults the rate limiter."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordResetForm,
    UserCreationForm,
)
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.utils.translation import gettext_lazy as _

from accounts import ratelimit
from accounts.models import User

logger = logging.getLogger(__name__)


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


# One sender thread: reset mail leaves the request path, so an existing address
# answers as fast as an unknown one (no SMTP round trip to time), and mails go
# out in order. ``flush_reset_mail`` waits for it (tests, shutdown).
_reset_mailer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reset-mail")


def _send_quietly(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except Exception:  # noqa: BLE001 - no request is left to tell; log it
        logger.exception("Password reset mail could not be sent")


def flush_reset_mail() -> None:
    """Wait until every reset mail queued so far has been handed to the backend."""
    _reset_mailer.submit(lambda: None).result()


class BackgroundPasswordResetForm(PasswordResetForm):
    """Django's reset form, its mail sent by a background thread."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict,
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(
            loader.render_to_string(subject_template_name, context).splitlines()
        )
        body = loader.render_to_string(email_template_name, context)
        message = EmailMultiAlternatives(subject, body, from_email, [to_email])
        if html_email_template_name is not None:
            html = loader.render_to_string(html_email_template_name, context)
            message.attach_alternative(html, "text/html")
        _reset_mailer.submit(_send_quietly, message)
