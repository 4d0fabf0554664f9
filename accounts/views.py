"""Sign-up, login, profile and password pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import ProfileForm, RateLimitedLoginForm, SignupForm
from portal.lib.clients import client_address
from portal.lib.counting import within_rate


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        allowed, wait = within_rate(
            f"signup:{client_address(request)}", settings.SIGNUP_THROTTLE
        )
        if not allowed:
            form.add_error(
                None,
                _("Too many sign-ups from your network; try again in %(minutes)d min.")
                % {"minutes": max(1, wait // 60)},
            )
            response = render(request, "registration/signup.html", {"form": form})
            response.status_code = 429
            response["Retry-After"] = str(wait)
            return response
    if request.method == "POST" and form.is_valid():
        user = services.create_user(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data.get("email", ""),
            display_name=form.cleaned_data.get("display_name", ""),
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(
            request,
            _("Welcome, %(name)s! Your account is ready.") % {"name": user.shown_name},
        )
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


class LoginView(auth_views.LoginView):
    form_class = RateLimitedLoginForm
    redirect_authenticated_user = True


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    context = {
        "session_expiry": request.session.get_expiry_date(),
        "session_key_preview": (request.session.session_key or "")[:8],
        "cookie": {
            "name": settings.SESSION_COOKIE_NAME,
            "httponly": settings.SESSION_COOKIE_HTTPONLY,
            "secure": settings.SESSION_COOKIE_SECURE,
            "samesite": settings.SESSION_COOKIE_SAMESITE,
            "age_days": settings.SESSION_COOKIE_AGE // 86400,
        },
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(
        request.POST or None, initial={"display_name": request.user.display_name}
    )
    if request.method == "POST" and form.is_valid():
        services.update_profile(
            user=request.user, display_name=form.cleaned_data["display_name"]
        )
        messages.success(request, _("Your profile was saved."))
        return redirect("accounts:profile")
    return render(request, "accounts/profile_edit.html", {"form": form})


class PasswordChangeView(auth_views.PasswordChangeView):
    success_url = reverse_lazy("accounts:profile")
    template_name = "registration/password_change.html"

    def form_valid(self, form):
        # Django ends the other sessions itself; API tokens must go too.
        services.revoke_api_tokens(user=self.request.user)
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        services.revoke_api_tokens(user=form.user)
        return super().form_valid(form)


@login_required
@require_POST
def logout_everywhere(request: HttpRequest) -> HttpResponse:
    """End every session (this one too) and revoke every API token."""
    services.log_out_everywhere(user=request.user)
    logout(request)
    messages.success(
        request, _("You were logged out everywhere; your API tokens were revoked.")
    )
    return redirect("accounts:login")
