"""Detection jobs in-process (eager Celery, the default): queue, run, idempotency."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import translation

from demos.ml.detection.detectors import DetectorUnavailable
from demos.models import DemoRun, DetectionJob
from demos.people import services
from demos.people.jobs import services as jobs
from demos.tasks import run_detection_job_task
from portal.lib.errors import BadInput

pytestmark = pytest.mark.django_db


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_queued_photo_is_stored_privately_until_a_worker_runs_it(
    user, models_ready, private_media, queue_photos
) -> None:
    outcome = queue_photos(user, "people/apollo11_crew.jpg", run=False)

    job = outcome.jobs[0]
    assert job.state == "queued"
    assert job.progress == 0
    assert job.run is None
    assert job.original_name == "apollo11_crew.jpg"
    upload = private_media / "jobs" / str(user.pk) / str(job.public_id) / "upload"
    assert upload.is_file()
    assert DemoRun.objects.count() == 0


def test_in_process_job_gives_the_same_run_as_the_synchronous_upload(
    user, samples_dir, models_ready, queue_photos
) -> None:
    job = queue_photos(user, "people/cyclists.jpg").jobs[0]
    direct = services.create_demo_run(
        owner=user,
        data=(samples_dir / "people/cyclists.jpg").read_bytes(),
        original_name="cyclists.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )

    assert job.state == "done"
    assert job.progress == 100
    assert job.attempts == 1
    assert job.started is not None and job.finished >= job.started
    run = job.run
    assert (run.detector, run.score_threshold) == (
        direct.detector,
        direct.score_threshold,
    )
    assert (run.image_width, run.image_height) == (1080, 720)
    assert run.image_sha256 == direct.image_sha256
    boxes = [(d.box, d.score) for d in run.detections.all()]
    assert boxes == [(d.box, d.score) for d in direct.detections.all()]


def test_finished_job_leaves_no_upload_behind(
    user, models_ready, private_media, queue_photos
) -> None:
    job = queue_photos(user, "people/grace_hopper.jpg").jobs[0]

    assert not (private_media / "jobs" / str(user.pk) / str(job.public_id)).exists()
    run_files = files_under(private_media / "runs")
    assert private_media / job.run.image_path in run_files


def test_running_a_done_job_again_changes_nothing(
    user, models_ready, private_media, queue_photos
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg").jobs[0]
    before = files_under(private_media)

    again = jobs.run_detection_job(job.pk)

    assert again.state == "done"
    assert again.run == job.run
    assert again.attempts == 1
    assert DemoRun.objects.count() == 1
    assert files_under(private_media) == before


def test_a_redelivered_task_that_finishes_second_is_undone_with_its_files(
    user, samples_dir, models_ready, private_media, queue_photos
) -> None:
    job = queue_photos(user, "people/apollo11_crew.jpg").jobs[0]
    # As if a second delivery of the task were mid-run when the first finished.
    DetectionJob.objects.filter(pk=job.pk).update(state="running")
    upload = private_media / job.upload_path
    upload.parent.mkdir(parents=True)
    upload.write_bytes((samples_dir / "people/apollo11_crew.jpg").read_bytes())
    before = files_under(private_media / "runs")

    again = jobs.run_detection_job(job.pk)

    assert again.run == job.run
    assert DemoRun.objects.count() == 1
    assert files_under(private_media / "runs") == before


def test_bad_photo_fails_its_job_with_the_reason(
    user, models_ready, private_media, queue_photos
) -> None:
    outcome = queue_photos(user, "bad/text.jpg", "people/grace_hopper.jpg")

    bad, good = outcome.jobs
    assert bad.state == "failed"
    assert "not an image" in bad.detail
    assert bad.run is None
    assert good.state == "done"
    assert not (private_media / bad.folder).exists()


def test_failure_reason_is_written_in_the_uploaders_language(
    user, models_ready, queue_photos
) -> None:
    with translation.override("ko"):
        job = queue_photos(user, "bad/empty.jpg").jobs[0]

    assert job.language == "ko"
    assert job.state == "failed"
    assert job.detail != "The file is empty."


def test_unknown_detector_is_refused_before_anything_is_queued(
    user, models_ready, private_media, queue_photos
) -> None:
    with pytest.raises(BadInput, match="Unknown detector"):
        queue_photos(user, "people/grace_hopper.jpg", detector_key="yolo-huge")

    assert DetectionJob.objects.count() == 0
    assert files_under(private_media) == []


def test_detector_without_its_file_is_refused_with_the_fix(
    user, models_ready, private_media, queue_photos
) -> None:
    with pytest.raises(DetectorUnavailable, match="Fix:"):
        queue_photos(
            user, "people/grace_hopper.jpg", detector_key="fasterrcnn_resnet50_fpn_v2"
        )

    assert DetectionJob.objects.count() == 0


def test_oversized_photo_is_refused_by_name_and_the_others_are_queued(
    user, settings, models_ready, queue_photos
) -> None:
    settings.MAX_UPLOAD_BYTES = 200_000

    outcome = queue_photos(user, "people/astronaut.png", "people/grace_hopper.jpg")

    assert [name for name, _reason in outcome.failures] == ["astronaut.png"]
    assert "limit" in outcome.failures[0][1]
    assert [job.original_name for job in outcome.jobs] == ["grace_hopper.jpg"]


def test_detector_file_gone_before_the_worker_ran_fails_in_process_with_the_fix(
    user,
    settings,
    models_ready,
    tmp_path,
    queue_photos,
    django_capture_on_commit_callbacks,
) -> None:
    outcome = queue_photos(user, "people/grace_hopper.jpg", run=False)
    settings.MODELS_DIR = tmp_path / "empty-store"

    run_detection_job_task.apply(args=[outcome.jobs[0].pk])

    job = DetectionJob.objects.get()
    assert job.state == "failed"
    assert "Fix:" in job.detail
    assert DemoRun.objects.count() == 0


def test_service_defers_a_job_whose_detector_is_missing_while_attempts_remain(
    user, settings, models_ready, tmp_path, queue_photos
) -> None:
    job = queue_photos(user, "people/grace_hopper.jpg", run=False).jobs[0]
    settings.MODELS_DIR = tmp_path / "empty-store"

    with pytest.raises(jobs.JobDeferred):
        jobs.run_detection_job(job.pk)

    job.refresh_from_db()
    assert job.state == "queued"
    assert job.attempts == 1
    assert "Fix:" in job.detail


def test_job_with_every_attempt_used_fails_instead_of_running_again(
    user, settings, models_ready, queue_photos
) -> None:
    job = queue_photos(user, "people/grace_hopper.jpg", run=False).jobs[0]
    DetectionJob.objects.filter(pk=job.pk).update(
        state="running", attempts=settings.JOB_MAX_ATTEMPTS
    )

    jobs.run_detection_job(job.pk)

    job.refresh_from_db()
    assert job.state == "failed"
    assert "worker stopped" in job.detail
    assert DemoRun.objects.count() == 0


@pytest.mark.parametrize(
    ("detector", "queue"),
    [
        ("fasterrcnn_resnet50_fpn_v2", "gpu"),
        ("yolox-nano", "cpu"),
        ("opencv-hog", "cpu"),
        ("fasterrcnn_mobilenet_v3_large_fpn", "cpu"),
    ],
)
def test_resnet50_detectors_go_to_the_gpu_queue(detector: str, queue: str) -> None:
    assert jobs.queue_for_detector(detector) == queue


def test_gpu_queue_can_be_folded_into_the_cpu_queue(settings) -> None:
    settings.JOB_GPU_QUEUE = "cpu"

    assert jobs.queue_for_detector("fasterrcnn_resnet50_fpn_v2") == "cpu"
