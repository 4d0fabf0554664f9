"""Reads of detection jobs: owned jobs only (404 for anyone else), newest first.

Same rule as ``demos/people/selectors.py`` for runs: another user's job is a 404,
never a 403 (which would confirm that it exists); staff may see every job.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from demos.common.ownership import get_owned_or_404, visible_to
from demos.models import DetectionJob

# Finished jobs stay on the history page this long; the jobs page lists all.
RECENT_FINISHED = timedelta(hours=1)


def _all_jobs() -> QuerySet[DetectionJob]:
    return DetectionJob.objects.select_related("owner", "run")


def _visible_jobs(user: AbstractBaseUser | AnonymousUser) -> QuerySet[DetectionJob]:
    return visible_to(user, _all_jobs())


def get_detection_job_for_user(
    user: AbstractBaseUser | AnonymousUser, public_id: uuid.UUID | str
) -> DetectionJob:
    """The job with this public id if ``user`` may see it, else ``Http404``."""
    return get_owned_or_404(user, _all_jobs(), public_id, missing="No such job.")


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
