"""The widget registry (demos/widgets/registry.py): every widget of the course has a
template, a context and data endpoints under /api/v1/ that answer JSON."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import pytest
from django.core.cache import cache
from django.template.loader import get_template
from django.test import Client
from django.urls import reverse
from PIL import Image

from demos.common.samples import SAMPLES
from demos.lessons.loading import discover_lessons
from demos.lessons.services import LESSONS_DIR, load_lessons
from demos.models import Lesson
from demos.widgets.registry import WIDGETS, get_widget

COURSE_WIDGETS = sorted(
    {source.widget for source in discover_lessons(LESSONS_DIR) if source.widget}
)


def drawn_digit() -> io.BytesIO:
    """A thick vertical stroke (a "1") on a white 200x200 pad, as a PNG upload."""
    pad = np.full((200, 200), 255, dtype=np.uint8)
    pad[30:170, 90:110] = 0
    handle = io.BytesIO()
    Image.fromarray(pad).save(handle, format="PNG")
    handle.seek(0)
    handle.name = "digit.png"
    return handle


@dataclass(frozen=True)
class Call:
    """How the widget's script calls one of its endpoints (the literal path)."""

    path: str
    method: str = "get"
    data: dict = field(default_factory=dict)
    needs_login: bool = False
    status: int = 200  # 202: a job was started


CALLS = {
    "api:playground-kernel": Call(
        "/api/v1/playgrounds/kernel/", "post", {"sample": "cat", "preset": "sobel-x"}
    ),
    "api:playground-output-size": Call(
        "/api/v1/playgrounds/output-size/", data={"n": 7, "k": 3}
    ),
    "api:playground-pooling": Call("/api/v1/playgrounds/pooling/"),
    "api:cnn-model-list": Call("/api/v1/cnn-models/", needs_login=True),
    "api:feature-map-create": Call(
        "/api/v1/feature-maps/",
        "post",
        {"sample": "astronaut", "model": "digits-cnn", "layer": "conv1"},
        needs_login=True,
    ),
    "api:digit-predict": Call("/api/v1/digits/predict/", "post", needs_login=True),
    "api:cnn-activations": Call("/api/v1/cnn/activations/", data={"channel": 1}),
    "api:cnn-autoencoder": Call("/api/v1/cnn/autoencoder/"),
    "api:cnn-tsne": Call("/api/v1/cnn/tsne/", data={"perplexity": 5}),
    "api:arch-comparison": Call("/api/v1/architectures/comparison/"),
    "api:stack-presets": Call("/api/v1/stack-calculator/presets/"),
    # The page posts JSON; a form post of nothing is a clear 400.
    "api:stack-calculate": Call("/api/v1/stack-calculator/", "post", status=400),
    "api:arch-transfer-learning": Call("/api/v1/transfer-learning/"),
    "api:arch-augment-samples": Call("/api/v1/augmentations/samples/"),
    "api:arch-augment-plan": Call(
        "/api/v1/augmentations/plan/", data={"seed": 1, "count": 4}
    ),
    "api:playground-nms": Call("/api/v1/playgrounds/nms/"),
    "api:playground-vision-tasks": Call("/api/v1/playgrounds/vision-tasks/"),
    "api:playground-conv-steps": Call("/api/v1/playgrounds/conv-steps/"),
    "api:exercise-people": Call(
        "/api/v1/exercises/people-one-by-one/", "post", needs_login=True, status=400
    ),
    "api:session-inspector": Call("/api/v1/session/", needs_login=True),
    "api:session-tamper": Call(
        "/api/v1/session/tamper/",
        "post",
        {"position": 39, "character": "a"},  # past the 32 characters: 400
        needs_login=True,
        status=400,
    ),
    "api:session-logout-elsewhere": Call(
        "/api/v1/session/logout-elsewhere/", "post", needs_login=True
    ),
    "api:cnn-lstm-gates": Call("/api/v1/cnn/lstm-gates/"),
    "api:training-run-create": Call(
        "/api/v1/training-runs/",
        "post",
        {"subset": 20, "epochs": 1},
        needs_login=True,
        status=202,
    ),
}
DATA_ROUTES = sorted({route for w in WIDGETS.values() for route in w.data_routes})


def test_every_widget_of_the_course_is_registered() -> None:
    assert COURSE_WIDGETS, "no lesson names a widget"
    missing = [key for key in COURSE_WIDGETS if get_widget(key) is None]
    assert missing == [], "register these in demos/widgets/registry.py WIDGETS"


@pytest.mark.parametrize("key", sorted(WIDGETS))
def test_every_registered_widget_has_its_template(key: str) -> None:
    widget = WIDGETS[key]
    assert widget.key == key
    assert widget.template_name == f"demos/widgets/{key}.html"
    get_template(widget.template_name)  # raises TemplateDoesNotExist


def test_unknown_or_unsafe_keys_are_not_widgets() -> None:
    for key in ("", "not-built-yet", "../../base", "_missing"):
        assert get_widget(key) is None


@pytest.mark.parametrize("route", DATA_ROUTES)
def test_every_data_endpoint_is_an_api_route(route: str) -> None:
    assert route.startswith("api:")
    assert route in CALLS, f"add how the widget calls {route} to CALLS"
    assert reverse(route) == CALLS[route].path


@pytest.mark.django_db
@pytest.mark.parametrize("route", DATA_ROUTES)
def test_every_data_endpoint_answers_json(
    route: str, client: Client, logged_in_client: Client
) -> None:
    cache.clear()  # upload throttling counts live in the cache
    call = CALLS[route]
    browser = logged_in_client if call.needs_login else client
    data = dict(call.data)
    if route == "api:digit-predict":
        data["image"] = drawn_digit()
    response = getattr(browser, call.method)(call.path, data)
    assert response.status_code == call.status, (route, response.content[:300])
    assert response["Content-Type"] == "application/json"
    assert response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("key", [key for key in COURSE_WIDGETS if key in WIDGETS])
def test_each_lesson_page_hands_its_widget_the_data_urls(
    key: str, logged_in_client: Client
) -> None:
    load_lessons()
    lesson = Lesson.objects.get(widget=key)
    html = logged_in_client.get(f"/lessons/{lesson.slug}/").content.decode()
    assert f'data-widget="{key}"' in html
    for route in WIDGETS[key].data_routes:
        assert f'="{CALLS[route].path}"' in html, route
    # The shared kit comes once, before the widget's own script.
    kit = html.index("/static/js/widget-kit.js")
    assert html.count("/static/js/widget-kit.js") == 1
    assert kit < html.index(f"/static/js/widgets/{key}.js")


class SampleChoices(HTMLParser):
    """The photos a widget offers: ``sample`` options and radios, ``sample:<key>``
    sources, and every shipped photo the page shows."""

    def __init__(self) -> None:
        super().__init__()
        # One list per picker: a page may show several widgets (lesson 14).
        self.pickers: list[list[str]] = []
        self.photos: set[str] = set()
        self._in_sample_select = False

    @property
    def keys(self) -> list[str]:
        return [key for picker in self.pickers for key in picker]

    def _add(self, key: str, *, new_picker: bool = False) -> None:
        if new_picker or not self.pickers:
            self.pickers.append([])
        self.pickers[-1].append(key)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = dict(attrs)
        if tag == "select":
            self._in_sample_select = attr.get("name") == "sample"
            if self._in_sample_select:
                self.pickers.append([])
        value = attr.get("value") or ""
        if (tag == "option" and self._in_sample_select) or (
            tag == "input" and attr.get("name") == "sample"
        ):
            self._add(value)
        elif tag == "input" and value.startswith("sample:"):
            self._add(value.removeprefix("sample:"))
        for name in ("src", "data-url"):
            if (attr.get(name) or "").startswith("/static/img/samples/"):
                self.photos.add(attr[name])

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._in_sample_select = False


# Choices of a widget's own that are not photos (the augmentation grid's digit).
NOT_PHOTOS = {"digit-6"}


@pytest.mark.django_db
def test_every_widget_offers_the_photos_of_the_one_sample_catalogue(
    logged_in_client: Client,
) -> None:
    load_lessons()
    catalogue_urls = {sample.url for sample in SAMPLES.values()}
    offering = {}
    for key in COURSE_WIDGETS:
        lesson = Lesson.objects.get(widget=key)
        parser = SampleChoices()
        parser.feed(logged_in_client.get(f"/lessons/{lesson.slug}/").content.decode())
        pickers = [
            [choice for choice in picker if choice not in NOT_PHOTOS]
            for picker in parser.pickers
        ]
        photos = [choice for picker in pickers for choice in picker]
        assert set(photos) <= set(SAMPLES), (key, photos)
        assert parser.photos <= catalogue_urls, (key, parser.photos)
        for picker in pickers:
            assert picker == [s for s in SAMPLES if s in picker], key
        if photos:
            offering[key] = photos
    # The widgets with a photo picker, each in the catalogue's order.
    assert set(offering) >= {
        "activations",
        "augmentation",
        "feature-maps",
        "iou-nms",
        "kernel-playground",
        "pooling",
        "vision-tasks",
    }
