"""Reads of classes (cohorts) that enforce who may see them.

Instructors see the classes they teach, superusers every class; anyone else asking
for a class gets ``PermissionDenied`` (403), an unknown class ``Http404``.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404

from accounts.models import Cohort, User


def can_teach(user: User) -> bool:
    """Staff users may run classes (the /teach/ pages and the class API)."""
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def cohorts_for_instructor(user: User) -> QuerySet[Cohort]:
    """The classes ``user`` teaches (every class for a superuser), with
    ``student_count``, newest first."""
    cohorts = Cohort.objects.all() if user.is_superuser else user.taught_cohorts.all()
    return cohorts.annotate(student_count=Count("memberships", distinct=True))


def get_cohort_for_instructor(user: User, public_id: UUID | str) -> Cohort:
    """One class its instructor (or a superuser) may run: 404 if unknown, 403 if
    it is someone else's."""
    cohort = Cohort.objects.filter(public_id=public_id).first()
    if cohort is None:
        raise Http404("No such class.")
    if not can_teach(user):
        raise PermissionDenied
    if not user.is_superuser and not cohort.instructors.filter(pk=user.pk).exists():
        raise PermissionDenied
    return cohort


def cohorts_for_student(user: User) -> list[Cohort]:
    """The classes a student is in (for their own pages), oldest membership first."""
    if not user.is_authenticated:
        return []
    return list(
        Cohort.objects.filter(memberships__student=user).order_by("memberships__joined")
    )


def class_students(cohort: Cohort) -> QuerySet[User]:
    """The class's students by username."""
    return User.objects.filter(cohort_memberships__cohort=cohort).order_by("username")
