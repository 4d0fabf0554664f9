"""Asynchronous detections under /api/v1/: ``POST detections/?async=1`` and jobs.

``POST /api/v1/detections/?async=1`` queues the photo and answers ``202`` with
``{"id", "state", "job_url"}`` (``demos/people/api.py`` hands such requests here);
``GET /api/v1/jobs/<id>/`` answers ``{"state", "detail", "detection"}`` where
``detection`` is the synchronous ``201`` body once the job is done, else ``null``.
Another user's job is a 404, like another user's run.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from demos.models import DetectionJob
from demos.people.jobs import services as jobs
from demos.people.jobs.selectors import (
    get_detection_job_for_user,
    list_detection_jobs_for_user,
)
from demos.people.payloads import DemoRunOutputSerializer, run_payload
from portal.lib.errors import BadInput


class JobOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=DetectionJob.State.choices)
    detail = serializers.CharField(allow_blank=True)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    attempts = serializers.IntegerField()
    original_name = serializers.CharField(allow_blank=True)
    detector = serializers.CharField()
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    detection = DemoRunOutputSerializer(allow_null=True)


class JobAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    state = serializers.ChoiceField(choices=DetectionJob.State.choices)
    job_url = serializers.URLField()


class JobPageSerializer(serializers.Serializer):
    """DRF's PageNumberPagination envelope (for the schema)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobOutputSerializer(many=True)


def job_url(request: Request, job: DetectionJob) -> str:
    return request.build_absolute_uri(
        reverse("api:job-detail", kwargs={"public_id": job.public_id})
    )


def job_payload(request: Request, job: DetectionJob) -> dict[str, Any]:
    detection = run_payload(request, job.run) if job.run is not None else None
    payload = {
        "id": job.public_id,
        "state": job.state,
        "detail": job.detail,
        "progress": job.progress,
        "attempts": job.attempts,
        "original_name": job.original_name,
        "detector": job.detector,
        "created": job.created,
        "started": job.started,
        "finished": job.finished,
        "detection": detection,
    }
    return JobOutputSerializer(payload).data


def enqueue_detection_response(request: Request, data: dict[str, Any]) -> Response:
    """Queue the validated upload of ``DemoRunListCreateApi``; ``202`` + job URL."""
    jobs.check_no_jobs_in_flight(request.user)
    outcome = jobs.enqueue_detection_jobs(
        owner=request.user,
        uploads=[data["image"]],
        detector_key=data.get("detector") or None,
        score_threshold=data.get("score_threshold"),
    )
    if outcome.failures:
        raise BadInput(outcome.failures[0][1])
    job = outcome.jobs[0]
    # In-process (eager) mode the job has already run: report what it is now.
    job.refresh_from_db()
    url = job_url(request, job)
    body = JobAcceptedSerializer(
        {"id": job.public_id, "state": job.state, "job_url": url}
    ).data
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class DetectionJobListApi(APIView):
    """Your detection jobs, newest first (paginated)."""

    @extend_schema(operation_id="v1_jobs_list", responses=JobPageSerializer)
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(
            list_detection_jobs_for_user(request.user), request, view=self
        )
        return paginator.get_paginated_response(
            [job_payload(request, job) for job in page]
        )


class DetectionJobDetailApi(APIView):
    """One of your jobs: its state, the reason if it failed, the detection if done."""

    @extend_schema(responses=JobOutputSerializer)
    def get(self, request: Request, public_id: uuid.UUID) -> Response:
        job = get_detection_job_for_user(request.user, public_id)
        return Response(job_payload(request, job))
