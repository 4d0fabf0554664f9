"""Lessons 7-9: widget pages in both languages, their PNG endpoints, and the old
/lessons/arch/*.json paths (aliases of the API views in tests/demos/architectures/
test_api.py)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import translation
from PIL import Image

from demos.models import Lesson
from tests.fresh_process import run_in_fresh_process

pytestmark = pytest.mark.django_db

LESSONS = [
    (7, "classic-architectures", "architectures", "Classic architectures"),
    (8, "transfer-learning", "transfer-learning", "Transfer learning"),
    (9, "data-augmentation", "augmentation", "Data augmentation"),
]
WIDGET_HEADINGS = {
    "architectures": "Classic architectures, measured on this server",
    "transfer-learning": "Freeze or fine-tune? ResNet50 with a new 33-class head",
    "augmentation": "Data augmentation playground",
}


@pytest.fixture
def lessons(db) -> None:
    for order, slug, widget, title in LESSONS:
        Lesson.objects.create(
            slug=slug,
            order=order,
            title_en=title,
            title_ko=f"{title} (ko)",
            body_en=f"# {title}\n\nText.",
            body_ko=f"# {title}\n\n본문.",
            widget=widget,
        )


def png_size(content: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.size


def translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def assert_no_inline_script_or_style(html: str) -> None:
    assert " style=" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize(("order", "slug", "widget", "title"), LESSONS)
def test_lesson_page_shows_the_widget_in_each_language(
    client: Client,
    lessons: None,
    language: str,
    order: int,
    slug: str,
    widget: str,
    title: str,
) -> None:
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    response = client.get(f"/lessons/{slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert f'data-widget="{widget}"' in html
    assert translated(language, WIDGET_HEADINGS[widget]) in html
    assert translated(language, "Show the PyTorch code") in html
    assert f"js/widgets/{widget}.js" in html
    assert_no_inline_script_or_style(html)


def test_architectures_widget_shows_both_residual_diagrams(
    client: Client, lessons: None
) -> None:
    html = client.get("/lessons/classic-architectures/").content.decode()
    assert "img/diagrams/residual-block.svg" in html
    assert "img/diagrams/bottleneck.svg" in html
    assert 'data-models-url="/api/v1/architectures/comparison/"' in html


def test_diagrams_are_static_svg_files() -> None:
    static = Path(__file__).resolve().parents[3] / "static" / "img" / "diagrams"
    for name in ("residual-block.svg", "bottleneck.svg"):
        svg = (static / name).read_text()
        assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg


def test_augmentation_widget_asks_anonymous_students_to_log_in_for_uploads(
    client: Client, lessons: None, logged_in_client: Client
) -> None:
    anonymous = client.get("/lessons/data-augmentation/").content.decode()
    assert 'type="file"' not in anonymous
    assert "/accounts/login/?next=" in anonymous
    member = logged_in_client.get("/lessons/data-augmentation/").content.decode()
    assert 'type="file" name="image"' in member


def test_sample_grid_png_has_the_planned_size(client: Client) -> None:
    response = client.get("/lessons/arch/augment/digit-6.png?seed=1&count=4")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert png_size(response.content) == (4 * 164 + 4, 164 + 4)


def test_a_sample_grid_is_named_by_its_catalogue_key_or_old_file_stem(
    client: Client,
) -> None:
    by_key = client.get("/lessons/arch/augment/apollo-crew.png?seed=3&count=4")
    assert by_key.status_code == 200
    # The URL the widget built before the one sample catalogue (a file stem).
    old = client.get("/lessons/arch/augment/apollo11_crew.png?seed=3&count=4")
    assert old.status_code == 200
    assert old.content == by_key.content
    posted = client.post(
        "/lessons/arch/augment/", {"sample": "chelsea", "seed": "3", "count": "4"}
    )
    assert posted.status_code == 200
    assert (
        posted.content
        == client.get("/lessons/arch/augment/cat.png?seed=3&count=4").content
    )


def test_the_sample_list_is_the_catalogue_plus_the_digit(client: Client) -> None:
    samples = client.get("/api/v1/augmentations/samples/").json()["samples"]
    assert [s["key"] for s in samples] == [
        "cyclists",
        "apollo-crew",
        "astronaut",
        "cat",
        "digit-6",
    ]
    assert samples[3]["url"] == "/static/img/samples/chelsea.jpg"


def test_unknown_sample_grid_is_404(client: Client) -> None:
    assert client.get("/lessons/arch/augment/nothing-here.png").status_code == 404


def test_post_a_sample_returns_a_png_grid(client: Client) -> None:
    response = client.post(
        "/lessons/arch/augment/", {"sample": "digit-6", "seed": "2", "count": "8"}
    )
    assert response.status_code == 200
    assert png_size(response.content) == (4 * 164 + 4, 2 * 164 + 4)


def test_post_without_sample_or_photo_is_a_clear_400(client: Client) -> None:
    response = client.post("/lessons/arch/augment/", {"seed": "1"})
    assert response.status_code == 400
    assert response.json()["detail"] == "Choose a sample or upload a photo."


def test_anonymous_upload_is_refused_with_a_reason(
    client: Client, sample_image: Path
) -> None:
    with sample_image.open("rb") as photo:
        response = client.post("/lessons/arch/augment/", {"image": photo})
    assert response.status_code == 403
    assert "Log in" in response.json()["detail"]


def test_logged_in_student_augments_an_uploaded_photo(
    logged_in_client: Client, sample_image: Path
) -> None:
    with sample_image.open("rb") as photo:
        response = logged_in_client.post(
            "/lessons/arch/augment/", {"image": photo, "count": "3", "seed": "9"}
        )
    assert response.status_code == 200
    assert png_size(response.content) == (3 * 164 + 4, 164 + 4)
    assert response["Cache-Control"] == "private"


@pytest.mark.parametrize(
    ("name", "words"),
    [("text.jpg", "not an image"), ("script.svg", "SVG"), ("tiny.png", "at least")],
)
def test_bad_upload_is_a_400_with_a_clear_message(
    logged_in_client: Client, samples_dir: Path, name: str, words: str
) -> None:
    with (samples_dir / "bad" / name).open("rb") as bad:
        response = logged_in_client.post("/lessons/arch/augment/", {"image": bad})
    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_augment_post_needs_the_csrf_token(user) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/lessons/arch/augment/", {"sample": "digit-6"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "old",
    [
        "/lessons/arch/models.json",
        "/lessons/arch/transfer-learning.json",
        "/lessons/arch/augment/samples.json",
        "/lessons/arch/augment/plan.json",
    ],
)
def test_old_json_alias_paths_are_gone(client: Client, old: str) -> None:
    # The widgets read /api/v1/; the pre-API aliases were removed (issue 16).
    assert client.get(old).status_code == 404


FRESH_GRIDS = """
import io, resource, sys
import cv2, numpy as np, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
connection.creation.create_test_db(verbosity=0)
client = Client()
sample = client.get("/lessons/arch/augment/cat.png?seed=3&count=8")
photo = np.zeros((120, 180, 3), np.uint8)
cv2.circle(photo, (90, 60), 40, (40, 200, 90), -1)
upload = io.BytesIO(cv2.imencode(".png", photo)[1].tobytes())
upload.name = "circle.png"
client.force_login(get_user_model().objects.create_user("fresh", password="pw-fresh-1"))
posted = client.post("/lessons/arch/augment/", {"image": upload, "count": "5"})
assert [r.status_code for r in (sample, posted)] == [200, 200]
assert [r["Content-Type"] for r in (sample, posted)] == ["image/png"] * 2
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)
print(*(m in sys.modules for m in ("torch", "torchvision", "matplotlib")))
"""


def test_sample_and_upload_grids_import_no_torch(tmp_path: Path) -> None:
    """A sample grid PNG and an uploaded photo's grid, in a new process: what a
    freshly started web worker imports to draw them."""
    last = run_in_fresh_process(FRESH_GRIDS, cache_dir=tmp_path / "cache")
    assert last == "False False False"
