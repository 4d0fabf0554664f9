"""Every write to accounts goes through here."""

from __future__ import annotations

import csv
import io
import re
import secrets
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop
from knox.models import AuthToken

from accounts.models import (
    JOIN_CODE_ALPHABET,
    JOIN_CODE_LENGTH,
    Cohort,
    CohortMembership,
    User,
)
from portal.lib.errors import TranslatedBadInput


@transaction.atomic
def create_user(
    *, username: str, password: str, email: str = "", display_name: str = ""
) -> User:
    user = User(username=username, email=email, display_name=display_name)
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


@transaction.atomic
def update_profile(*, user: User, display_name: str) -> User:
    user.display_name = display_name.strip()
    user.full_clean()
    user.save(update_fields=["display_name"])
    return user


class TooManyTokens(Exception):
    """The user already holds ``REST_KNOX["TOKEN_LIMIT_PER_USER"]`` live tokens."""


@transaction.atomic
def create_api_token(*, user: User) -> tuple[AuthToken, str]:
    """A new API token for ``user`` (its row and the secret shown once), or
    ``TooManyTokens`` at the README's limit of live (unexpired) tokens."""
    User.objects.select_for_update().filter(pk=user.pk).first()  # one at a time
    limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
    live = AuthToken.objects.filter(user=user, expiry__gt=timezone.now())
    if limit is not None and live.count() >= limit:
        raise TooManyTokens(limit)
    return AuthToken.objects.create(user=user)


@transaction.atomic
def revoke_api_tokens(*, user: User) -> int:
    """Delete every API token of ``user`` (after a password change, a log-out-all)."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def log_out_everywhere(*, user: User) -> None:
    """End every session and revoke every API token of ``user``.

    Raising ``session_epoch`` changes the hash every session of the user was signed
    with, so each stops verifying on its next request: one row written, however
    many sessions the table holds (the dead rows go with ``clearsessions``).
    """
    revoke_api_tokens(user=user)
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


# --- Classes (cohorts) ---------------------------------------------------------------


class InvalidJoinCode(TranslatedBadInput):
    """No class has this join code."""


class InvalidTimeZone(TranslatedBadInput):
    """The time zone is not an IANA name such as Asia/Seoul."""


MAX_CSV_ROWS = 500


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalise_join_code(code: str) -> str:
    """Upper case without spaces or dashes: "abc-234 " → "ABC234"."""
    return re.sub(r"[\s-]", "", code).upper()


@transaction.atomic
def create_cohort(
    *,
    instructor: User,
    name: str,
    term: str = "",
    time_zone: str = "",
) -> Cohort:
    """A new class taught by ``instructor``, with a fresh unused join code."""
    time_zone = time_zone.strip() or settings.TIME_ZONE
    if time_zone not in zoneinfo.available_timezones():
        raise InvalidTimeZone(
            gettext_noop("Unknown time zone: %(zone)s."), zone=time_zone[:64]
        )
    code = new_join_code()
    while Cohort.objects.filter(join_code=code).exists():
        code = new_join_code()
    cohort = Cohort(
        name=name.strip(), term=term.strip(), time_zone=time_zone, join_code=code
    )
    cohort.full_clean()
    cohort.save()
    cohort.instructors.add(instructor)
    return cohort


@transaction.atomic
def add_student(
    *, cohort: Cohort, student: User, added_by: User | None = None
) -> tuple[CohortMembership, bool]:
    """Put ``student`` in the class: ``(membership, created)``; fine if already in."""
    membership, created = CohortMembership.objects.get_or_create(
        cohort=cohort, student=student, defaults={"added_by": added_by}
    )
    return membership, created


def join_cohort_with_code(*, student: User, code: str) -> tuple[Cohort, bool]:
    """The class whose join code this is, with ``student`` in it; ``(class, newly
    joined)``. A wrong code raises ``InvalidJoinCode``."""
    normalised = normalise_join_code(code)
    cohort = Cohort.objects.filter(join_code=normalised).first() if normalised else None
    if cohort is None:
        raise InvalidJoinCode(
            gettext_noop("No class has the join code “%(code)s”."), code=code[:20]
        )
    _membership, created = add_student(cohort=cohort, student=student)
    return cohort, created


@dataclass
class AddStudentsReport:
    """What ``add_students`` did: usernames added, already in, and rows not found."""

    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (row, value)


HEADER_WORDS = {"username", "user", "email", "e-mail", "아이디", "이메일"}


def identifiers_from_csv(text: str) -> list[tuple[int, str]]:
    """``(row number, first cell)`` of every non-empty row; a header row is skipped.

    >>> identifiers_from_csv("username\\nalice\\n\\nbob@example.com,Bob\\n")
    [(2, 'alice'), (4, 'bob@example.com')]
    """
    rows = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = next((value.strip() for value in row if value.strip()), "")
        if not cell or (number == 1 and cell.lower() in HEADER_WORDS):
            continue
        rows.append((number, cell))
    return rows


@transaction.atomic
def add_students(
    *, cohort: Cohort, identifiers: list[tuple[int, str]], added_by: User
) -> AddStudentsReport:
    """Add the users named by username or e-mail (``(row, value)`` pairs); values
    that match no user, or several by e-mail, are reported, never guessed."""
    if len(identifiers) > MAX_CSV_ROWS:
        raise TranslatedBadInput(
            gettext_noop("At most %(count)d students at once."), count=MAX_CSV_ROWS
        )
    report = AddStudentsReport()
    for row, value in identifiers:
        if "@" in value:
            matches = list(User.objects.filter(email__iexact=value)[:2])
        else:
            matches = list(User.objects.filter(username=value)[:1]) or list(
                User.objects.filter(username__iexact=value)[:2]
            )
        if len(matches) != 1:
            report.unknown.append((row, value))
            continue
        _membership, created = add_student(
            cohort=cohort, student=matches[0], added_by=added_by
        )
        (report.added if created else report.already).append(matches[0].username)
    return report


def add_students_from_csv(
    *, cohort: Cohort, text: str, added_by: User
) -> AddStudentsReport:
    """``add_students`` for the text of a CSV file (or one name per line)."""
    return add_students(
        cohort=cohort, identifiers=identifiers_from_csv(text), added_by=added_by
    )


@transaction.atomic
def remove_student(*, cohort: Cohort, student: User) -> bool:
    deleted, _ = CohortMembership.objects.filter(
        cohort=cohort, student=student
    ).delete()
    return bool(deleted)


@transaction.atomic
def set_this_week_lesson(*, cohort: Cohort, slug: str) -> Cohort:
    """Mark the lesson ``slug`` (checked by the caller) as this week's; "" clears."""
    cohort.this_week_lesson = slug
    cohort.full_clean()
    cohort.save(update_fields=["this_week_lesson"])
    return cohort
