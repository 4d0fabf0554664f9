"""Every HTML page of the portal parses as HTML5 without a single parse error.

The pages come from the URLconf itself: every route is requested with sample
objects filled in (a run, a job, each lesson, each admin object), in Korean and
English, as a visitor, as a student and as a staff member. Each HTML answer is
parsed by html5lib in strict mode, which stops at the first error a browser would
silently repair (a lost ``>``, a stray end tag, a duplicate attribute).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import html5lib
import pytest
from axes.models import AccessAttempt
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from knox.models import AuthToken

from demos.lessons.services import load_lessons, mark_lesson_done
from demos.models import DemoRun, DetectionJob, Lesson, LessonProgress
from demos.people import services
from models_store.models import ModelFile

pytestmark = pytest.mark.django_db

# Routes that never answer a GET with a page of their own (POST only, files, JSON
# behind the API, redirects to another site).
SKIPPED = re.compile(
    r"^(api/|healthz|i18n/|admin/r/|admin/jsi18n|admin/autocomplete|"
    r"admin/\(\?P<url>|admin/.*/(pull|verify-all)/|lessons/cnn/maps/|.*\.(jpg|png|zip|json)$)"
)


def routes(patterns: list, prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def html5_errors(html: str) -> list[str]:
    """Every parse error html5lib reports, with its line and column."""
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(html)
    lines = html.splitlines()
    found = []
    for (line, col), code, data in parser.errors:
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        context = text[max(0, col - 60) : col + 20]
        found.append(f"{line}:{col} {code} {data} …{context}…")
    return found


def assert_valid_html5(path: str, html: str) -> None:
    try:
        html5lib.HTMLParser(strict=True).parse(html)
    except html5lib.html5parser.ParseError:
        pytest.fail(f"{path} is not valid HTML5:\n" + "\n".join(html5_errors(html)))


@pytest.fixture
def world(staff_user, user, samples_dir: Path, models_ready) -> dict:
    """One of everything a page can show: runs, a job, lessons, progress, files."""
    load_lessons()
    runs = [
        services.create_demo_run(
            owner=user,
            data=(samples_dir / "people" / name).read_bytes(),
            original_name=name,
            detector_key=detector,
            score_threshold=None,
        )
        for name, detector in (
            ("apollo11_crew.jpg", "yolox-nano"),
            ("cyclists.jpg", "fastestdet"),
        )
    ]
    job = DetectionJob.objects.create(
        owner=user,
        state=DetectionJob.State.FAILED,
        detail="The file is not an image.",
        detector="yolox-nano",
        score_threshold=0.5,
        original_name="notes.txt",
    )
    mark_lesson_done(user=user, lesson=Lesson.objects.first())
    model_file = ModelFile.objects.create(
        key="yolox-nano",
        filename="yolox_nano.onnx",
        sha256="0" * 64,
        size=1000,
        source=ModelFile.Source.IMPORT,
    )
    attempt = AccessAttempt.objects.create(
        username=user.username, ip_address="127.0.0.1", failures_since_start=2
    )
    token, _key = AuthToken.objects.create(user=user)
    return {
        "runs": runs,
        "objects": {
            "auth/group": None,
            "accounts/apitoken": token.pk,
            "accounts/loginlockout": attempt.pk,
            "accounts/user": user.pk,
            "models_store/modelfile": model_file.pk,
            "demos/demorun": runs[0].pk,
            "demos/lesson": Lesson.objects.first().pk,
            "demos/lessonprogress": LessonProgress.objects.first().pk,
            "demos/detectionjob": job.pk,
        },
    }


def concrete_paths(world: dict, user) -> list[str]:
    """Every GET-able page of the URLconf with its placeholders filled in."""
    run, other = world["runs"]
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    fixed = {
        "<uuid:public_id>": str(run.public_id),
        "<uuid:other_id>": str(other.public_id),
        "<uidb64>/<token>": f"{uid}/{token}",
        "<id>": str(user.pk),
    }
    paths: list[str] = []
    for route in routes(get_resolver().url_patterns):
        if SKIPPED.match(route):
            continue
        if route.startswith("admin/^"):
            paths += [f"/admin/{label}/" for label in ("accounts", "demos")]
            paths += ["/admin/models_store/"]
            continue
        if "<slug:slug>" in route:
            if route.endswith("done/"):
                continue  # POST only
            paths += [
                "/" + route.replace("<slug:slug>", slug)
                for slug in Lesson.objects.values_list("slug", flat=True)
            ]
            continue
        if "<path:object_id>" in route:
            model = route.removeprefix("admin/").split("/<")[0]
            pk = world["objects"].get(model)
            if pk is None:
                continue
            route = route.replace("<path:object_id>", str(pk))
        for placeholder, value in fixed.items():
            route = route.replace(placeholder, value)
        if "<" not in route:
            paths.append("/" + route)
    return paths + ["/no/such/page/"]


@pytest.mark.parametrize("language", ["ko", "en"])
def test_every_page_is_valid_html5(world, user, staff_user, language) -> None:
    visitors = {"visitor": Client(), "student": Client(), "staff": Client()}
    visitors["student"].force_login(user)
    visitors["staff"].force_login(staff_user)
    staff_user.is_superuser = True
    staff_user.save()
    paths = concrete_paths(world, user)
    parsed = 0
    for who, client in visitors.items():
        for path in paths:
            response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
            # Redirects (login, POST-only views) have no page of their own.
            if response.status_code in (301, 302, 405):
                continue
            if "text/html" not in response.get("Content-Type", ""):
                continue
            assert response.status_code in (200, 403, 404), (who, path)
            assert_valid_html5(f"{path} ({who}, {language})", response.content.decode())
            parsed += 1
    # Guards against a SKIPPED pattern or a fixture quietly dropping the pages.
    assert parsed >= 100
    assert Lesson.objects.count() == 15
    assert DemoRun.objects.count() == 2
