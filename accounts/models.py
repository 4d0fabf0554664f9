"""The portal's user (custom from day one), classes (cohorts) of students and admin
proxies of the axes/knox tables. Imports nothing from ``demos``: a class names its
"this week" lesson by slug."""

from __future__ import annotations

import uuid
import zoneinfo

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
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


def default_time_zone() -> str:
    """The site's TIME_ZONE, read when a class is made (not frozen in a migration)."""
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    """An IANA time zone name such as Asia/Seoul (what zoneinfo can load)."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("Unknown time zone: %(zone)s."), params={"zone": value[:64]}
        )


# Join codes avoid look-alikes (0/O, 1/I/L) so a code read aloud or off a slide works.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6


class Cohort(models.Model):
    """A class of students run by one or more instructors (staff users)."""

    public_id = models.UUIDField(
        _("public ID"), default=uuid.uuid4, unique=True, editable=False
    )
    name = models.CharField(_("class name"), max_length=80)
    term = models.CharField(_("term"), max_length=40, blank=True)
    join_code = models.CharField(
        _("join code"), max_length=12, unique=True, editable=False
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("Times in the class pages and exports are shown in this zone."),
    )
    instructors = models.ManyToManyField(
        User, related_name="taught_cohorts", verbose_name=_("instructors")
    )
    students = models.ManyToManyField(
        User,
        through="CohortMembership",
        through_fields=("cohort", "student"),
        related_name="cohorts",
        verbose_name=_("students"),
    )
    # A lesson slug (accounts does not import the lessons); blank for none.
    this_week_lesson = models.CharField(
        _("this week's lesson"), max_length=50, blank=True
    )
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name = _("class")
        verbose_name_plural = _("classes")

    def __str__(self) -> str:
        return f"{self.name} ({self.term})" if self.term else self.name


class CohortMembership(models.Model):
    """A student in a class: when they joined and who added them (none: by code)."""

    cohort = models.ForeignKey(
        Cohort,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("class"),
    )
    student = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="cohort_memberships",
        verbose_name=_("student"),
    )
    joined = models.DateTimeField(_("joined"), auto_now_add=True)
    added_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("added by"),
    )

    class Meta:
        ordering = ["cohort", "student__username"]
        verbose_name = _("class membership")
        verbose_name_plural = _("class memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["cohort", "student"], name="cohort_member_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} @ {self.cohort}"
