"""Reads of detection jobs: owned jobs only (404 for anyone else), newest first.

Same rule as ``demos/people/selectors.py`` for runs: another user's job is a 404, never a
403 (which would confirm that it exists); staff may see every job.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from demos.models import DetectionJob

# Finished jobs stay on the history page this long; the jobs page lists all.
RECENT_FINISHED = timedelta(hours=1)


def _visible_jobs(user: AbstractBaseUser | AnonymousUser) -> QuerySet[DetectionJob]:
    if not user.is_authenticated:
        return DetectionJob.objects.none()
    jobs = DetectionJob.objects.select_related("owner", "run")
    return jobs if user.is_staff else jobs.filter(owner=user)


def get_detection_job_for_user(
    user: AbstractBaseUser | AnonymousUser, public_id: uuid.UUID | str
) -> DetectionJob:
    """The job with this public id if ``user`` may see it, else ``Http404``."""
    try:
        return _visible_jobs(user).get(public_id=public_id)
    except (DetectionJob.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such job.") from exc


def list_detection_jobs_for_user(
    user: AbstractBaseUser | AnonymousUser,
) -> QuerySet[DetectionJob]:
    """The user's own jobs, newest first (staff too: the page is personal)."""
    return _visible_jobs(user).filter(owner_id=getattr(user, "pk", None))


def list_current_jobs_for_user(
    user: AbstractBaseUser | AnonymousUser,
) -> QuerySet[DetectionJob]:
    """Jobs still queued or running, and those finished in the last hour."""
    recent = timezone.now() - RECENT_FINISHED
    return list_detection_jobs_for_user(user).filter(
        Q(state__in=[DetectionJob.State.QUEUED, DetectionJob.State.RUNNING])
        | Q(finished__gte=recent)
    )


def jobs_by_ids_for_user(
    user: AbstractBaseUser | AnonymousUser, public_ids: list[str]
) -> list[DetectionJob]:
    """The user's jobs among ``public_ids`` (unknown or foreign ids are left out)."""
    valid = []
    for value in public_ids:
        try:
            valid.append(uuid.UUID(value))
        except ValueError:
            continue
    return list(_visible_jobs(user).filter(public_id__in=valid))
