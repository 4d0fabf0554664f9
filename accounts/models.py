"""The portal's user (custom from day one) and admin proxies of the axes/knox tables."""

from __future__ import annotations

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    # "Log out everywhere" raises it: every session signed with the old value stops
    # verifying at once, without reading the whole session table.
    session_epoch = models.PositiveIntegerField(_("session generation"), default=0)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Generation 0 keeps Django's own hash, so sessions made before this field
        # existed stay valid.
        if not self.session_epoch:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


# The admin shows the login and token tables of django-axes and django-rest-knox under
# these proxies: same tables, names in the portal's languages.
class LoginLockout(AccessAttempt):
    class Meta:
        proxy = True
        verbose_name = _("login attempt limit")
        verbose_name_plural = _("login attempt limits")


class LoginRecord(AccessLog):
    class Meta:
        proxy = True
        verbose_name = _("login record")
        verbose_name_plural = _("login records")


class FailedLogin(AccessFailureLog):
    class Meta:
        proxy = True
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")


class ApiToken(AuthToken):
    class Meta:
        proxy = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
