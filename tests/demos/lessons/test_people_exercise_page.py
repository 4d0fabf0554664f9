"""The in-browser exercise's page, its worker and module sources, the one CSP
exception (WebAssembly for Pyodide) and the stored step verdicts."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from demos.lessons.services import load_lessons
from demos.models import DemoRun, ExerciseAttempt
from tests.demos.lessons.test_people_exercise_data import make_run

pytestmark = pytest.mark.django_db
PAGE = "/lessons/exercises/people-one-by-one/"
STEP_API = "/api/v1/exercises/people-one-by-one/steps/"
STRICT = settings.CONTENT_SECURITY_POLICY


def test_the_exercise_page_alone_allows_webassembly_and_only_that(
    user, logged_in_client: Client
):
    run = make_run(user)
    page = logged_in_client.get(PAGE, {"run": str(run.public_id)})
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert policy == (
        STRICT.replace(
            "script-src 'self';",
            "script-src 'self' 'wasm-unsafe-eval'; worker-src 'self';",
        )
    )
    assert "'unsafe-eval'" not in policy and "'unsafe-inline'" not in policy
    worker = logged_in_client.get(PAGE + "worker.js")
    assert worker.headers["Content-Security-Policy"] == policy
    assert b"loadPyodide" in worker.content
    for other in ("/lessons/", "/lessons/object-detection/", "/demos/people/"):
        assert logged_in_client.get(other).headers["Content-Security-Policy"] == STRICT


def test_the_page_shows_the_five_steps_with_their_starter_code_and_the_runs_photo(
    user, logged_in_client: Client
):
    run = make_run(user)
    html = logged_in_client.get(PAGE, {"run": str(run.public_id)}).content.decode()
    for step in ("worked", "loop", "filter", "clip", "save"):
        assert f'data-testid="code-{step}"' in html
    assert "for box in ____:" in html
    assert f"/demos/people/{run.public_id}/image.jpg" in html
    assert f"/api/v1/exercises/people-one-by-one/runs/{run.public_id}/" in html
    assert "/static/vendor/pyodide/" in html  # served by the portal, no CDN
    assert "cdn" not in html.lower()


def test_without_a_run_the_page_lists_the_students_runs(
    user, other_user, logged_in_client: Client
):
    mine, theirs = make_run(user), make_run(other_user)
    html = logged_in_client.get(PAGE).content.decode()
    assert f"?run={mine.public_id}" in html and str(theirs.public_id) not in html


def test_a_new_student_is_sent_to_the_person_demo(logged_in_client: Client):
    page = logged_in_client.get(PAGE)
    assert page.status_code == 200
    assert 'data-testid="exercise-no-runs"' in page.content.decode()


def test_another_students_run_is_404_and_a_visitor_must_log_in(
    user, other_client: Client
):
    run = make_run(user)
    assert other_client.get(PAGE, {"run": str(run.public_id)}).status_code == 404
    assert Client().get(PAGE).status_code == 302


def test_the_worker_gets_the_pure_modules_source_and_nothing_else(client: Client):
    source = client.get(PAGE + "code_checks.py")
    assert source.status_code == 200
    assert b"def check_code" in source.content
    assert client.get(PAGE + "exercise_steps.py").status_code == 200
    assert client.get(PAGE + "settings.py").status_code == 404


def test_each_steps_verdict_is_stored_for_the_student(user, logged_in_client: Client):
    run = make_run(user)
    body = {
        "run": str(run.public_id),
        "step": "loop",
        "passed": False,
        "diagnosis": "loop-index-zero",
    }
    answer = logged_in_client.post(STEP_API, body, content_type="application/json")
    assert answer.status_code == 201
    attempt = ExerciseAttempt.objects.get()
    assert (
        attempt.user,
        attempt.exercise,
        attempt.step,
        attempt.passed,
        attempt.diagnosis,
    ) == (user, "people-one-by-one", "loop", False, "loop-index-zero")


def test_a_bad_step_or_diagnosis_or_someone_elses_run_stores_nothing(
    user, other_client: Client, logged_in_client: Client
):
    run = make_run(user)
    good = {"run": str(run.public_id), "step": "loop", "passed": True, "diagnosis": ""}
    for bad in ({"step": "nope"}, {"diagnosis": "<script>"}, {"passed": "maybe"}):
        answer = logged_in_client.post(
            STEP_API, good | bad, content_type="application/json"
        )
        assert answer.status_code == 400
    assert (
        other_client.post(STEP_API, good, content_type="application/json").status_code
        == 404
    )
    assert not ExerciseAttempt.objects.exists()
    assert DemoRun.objects.count() == 1


def test_the_step_api_needs_the_csrf_token(user):
    run = make_run(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = {"run": str(run.public_id), "step": "loop", "passed": True}
    assert (
        client.post(STEP_API, body, content_type="application/json").status_code == 403
    )
    assert not ExerciseAttempt.objects.exists()


def test_lesson_10_and_the_owners_result_page_link_to_the_exercise(
    user, logged_in_client: Client, staff_user
):
    load_lessons()
    run = make_run(user)
    lesson = logged_in_client.get("/lessons/object-detection/").content.decode()
    assert f'href="{PAGE}"' in lesson
    detail = logged_in_client.get(f"/demos/people/{run.public_id}/").content.decode()
    assert f"{PAGE}?run={run.public_id}" in detail
    teacher = Client()
    teacher.force_login(staff_user)
    assert PAGE not in teacher.get(f"/demos/people/{run.public_id}/").content.decode()
