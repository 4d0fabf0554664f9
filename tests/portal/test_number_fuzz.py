"""Every endpoint that reads a typed number survives hostile numbers (finding 1).

Each request runs in a forked child with a deadline: a parser that builds a huge
integer (``Fraction("1e-99999999")``) holds the GIL, so a thread's ``join(timeout)``
could not even notice; a child process can be killed. The child is a copy of this
test (same database connection, same cache), so the requests see the same rows.
A request that does not answer within the deadline, or answers 5xx, fails the test.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from demos.people import services

pytestmark = pytest.mark.django_db

DEADLINE_SECONDS = 10  # a hang guard for one request, not a speed assertion

HOSTILE = [
    "1e-99999999",
    "1e400",
    "-1e400",
    "1e99999999999",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "9" * 5000,
    "1" + "0" * 400,
    "-" + "9" * 300,
    "0x1F",
    "1_000",
    "1/0",
    "--1",
]
# Raw JSON literals (not strings): what a script posting JSON can send.
HOSTILE_JSON = ["1e400", "-1e400", "1e-99999999", "NaN", "Infinity", "9" * 5000]


def answers_with_deadline(
    requests: list[Callable[[], object]], seconds: float
) -> list[object]:
    """Each ``request()``'s result, run one after another in a forked child.

    The child streams one result per request; if one takes longer than ``seconds``
    the child is killed, that request's result is ``None``, and a fresh child goes
    on with the next one. (Forking once per request would cost more than the
    requests themselves.)
    """
    ctx = multiprocessing.get_context("fork")
    results: list[object] = []
    while len(results) < len(requests):
        start = len(results)
        reader, writer = ctx.Pipe(duplex=False)

        def child(start: int = start, writer=writer) -> None:
            for request in requests[start:]:
                try:
                    writer.send(request())
                except BaseException as exc:  # the parent reports it
                    writer.send(f"raised {exc!r}")

        process = ctx.Process(target=child, daemon=True)
        process.start()
        writer.close()
        try:
            while len(results) < len(requests):
                if not reader.poll(seconds):
                    results.append(None)  # hung: a new child takes the next one
                    break
                try:
                    results.append(reader.recv())
                except EOFError:  # the child died
                    results.append("child died")
                    break
        finally:
            process.kill()
            process.join()
    return results


@pytest.fixture
def run(user, samples_dir: Path):
    return services.create_demo_run(
        owner=user,
        data=(samples_dir / "people" / "grace_hopper.jpg").read_bytes(),
        original_name="grace.jpg",
        detector_key="opencv-hog",
        score_threshold=None,
    )


def _endpoints(run, sample_photo: bytes) -> list[tuple[str, str, dict, list[str]]]:
    """(method, path, other fields, numeric fields) for every number-taking endpoint."""
    run_id = run.public_id

    def photo(name: str = "images") -> dict:
        return {name: SimpleUploadedFile("p.jpg", sample_photo, "image/jpeg")}

    return [
        ("post", "/api/v1/playgrounds/kernel/", {"sample": "cat"}, ["kernel"]),
        (
            "get",
            "/api/v1/playgrounds/output-size/",
            {"n": "32", "k": "3"},
            ["n", "k", "stride", "padding", "dilation"]
            + ["in_channels", "out_channels", "guess"],
        ),
        ("get", "/api/v1/playgrounds/pooling/", {}, ["size", "stride"]),
        ("get", "/api/v1/playgrounds/nms/", {}, ["iou_threshold", "score_threshold"]),
        ("get", "/api/v1/augmentations/plan/", {}, ["seed", "count"]),
        ("post", "/api/v1/augmentations/", {"sample": "cat"}, ["seed", "count"]),
        ("get", "/lessons/arch/augment/cat.png", {}, ["seed", "count"]),
        ("post", "/lessons/arch/augment/", {"sample": "cat"}, ["seed", "count"]),
        ("get", "/api/v1/cnn/activations/", {}, ["channel", "seed"]),
        (
            "post",
            "/api/v1/feature-maps/",
            {"sample": "cat", "model": "digits-cnn", "layer": "conv1"},
            ["top_k"],
        ),
        ("get", f"/api/v1/detections/{run_id}/", {}, ["score_threshold"]),
        ("get", f"/api/v1/detections/{run_id}/crops.zip", {}, ["score_threshold"]),
        ("get", f"/demos/people/{run_id}/", {}, ["score_threshold"]),
        ("get", f"/demos/people/{run_id}/crops.zip", {}, ["score_threshold"]),
        ("post", "/api/v1/detections/", photo("image"), ["score_threshold"]),
        (
            "post",
            "/demos/people/",
            {**photo(), "detector": "opencv-hog"},
            ["score_threshold"],
        ),
        ("get", "/api/v1/detections/", {}, ["page"]),
        ("get", "/demos/people/history/", {}, ["page"]),
        ("get", "/demos/people/jobs/", {}, ["page"]),
    ]


# A bad page number is "not found" (DRF) or the first page (the HTML history).
ALLOWED = {200, 400, 404}


def test_hostile_numbers_get_an_answer_never_a_500_or_a_hang(
    logged_in_client: Client, run, sample_image: Path
) -> None:
    cases, requests = [], []
    for method, path, fields, numeric in _endpoints(run, sample_image.read_bytes()):
        for field in numeric:
            for value in HOSTILE:
                data = {**fields, field: value}

                def send(method=method, path=path, data=data) -> int:
                    for item in data.values():
                        if hasattr(item, "seek"):
                            item.seek(0)
                    return getattr(logged_in_client, method)(path, data).status_code

                cases.append(f"{method.upper()} {path} {field}={value[:20]}")
                requests.append(send)
    statuses = answers_with_deadline(requests, DEADLINE_SECONDS)
    failures = [
        f"{case} → {status or 'no answer'}"
        for case, status in zip(cases, statuses, strict=True)
        if status not in ALLOWED
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("literal", HOSTILE_JSON, ids=lambda v: v[:12])
def test_hostile_json_numbers_in_a_kernel_get_an_answer(
    client: Client, literal: str
) -> None:
    # 1e-99999999 is a JSON float (0.0 to json.loads): a valid 1x1 kernel.
    body = '{"sample": "cat", "kernel": ' + literal + "}"

    def send() -> int:
        response = client.post(
            "/api/v1/playgrounds/kernel/", body, content_type="application/json"
        )
        return response.status_code

    assert answers_with_deadline([send], DEADLINE_SECONDS)[0] in {200, 400}


@pytest.mark.parametrize(
    "kernel",
    ["1e-99999999", "0 0 0; 0 1e400 0; 0 0 0", "1/1e-99999999", "nan"],
    ids=["tiny-exponent", "overflow", "fraction", "nan"],
)
def test_kernel_with_a_hostile_number_says_what_a_number_may_be(
    client: Client, kernel: str
) -> None:
    def send() -> str:
        response = client.post(
            "/api/v1/playgrounds/kernel/", {"sample": "cat", "kernel": kernel}
        )
        return f"{response.status_code} {response.content.decode()}"

    [answer] = answers_with_deadline([send], DEADLINE_SECONDS)
    assert answer is not None, "the request did not return"
    status, body = answer.split(" ", 1)
    assert status == "400"
    assert "numbers only" in json.loads(body)["detail"]
