"""The portal's user (custom from day one) and the login rate limiter's buckets."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=60, blank=True)

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    def __str__(self) -> str:
        return self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username


class LoginBucket(models.Model):
    """A token bucket for failed logins, keyed by a hashed username or client address.

    Each failed login takes one token; tokens refill at a steady rate. An empty bucket
    refuses further logins for that key only, so other users are never locked out.
    """

    key = models.CharField(_("key (hashed)"), max_length=64, unique=True)
    tokens = models.FloatField(_("tries left"))
    updated = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("login attempt limit")
        verbose_name_plural = _("login attempt limits")

    def __str__(self) -> str:
        return f"{self.key[:12]}… ({self.tokens:.1f})"
