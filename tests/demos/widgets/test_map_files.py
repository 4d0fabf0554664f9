"""CNN lesson widgets on their lesson pages, ?run= and ?sample=, and the old
/lessons/cnn/*.json paths (aliases of the API views tested in test_api.py)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from demos.lessons.services import load_lessons
from demos.ml import networks as cnn_models
from demos.models import DemoRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttle_counts() -> None:
    """Upload throttling counts live in the cache; each test starts from zero."""
    cache.clear()


WIDGETS = {
    "feature-maps": "feature-maps",
    "draw-a-digit": "draw-digit",
    "activation-batchnorm-dropout": "activations",
    "autoencoders-tsne": "autoencoder-tsne",
}


@pytest.fixture
def course(db) -> None:
    load_lessons()


@pytest.fixture
def empty_store(settings, tmp_path: Path) -> Path:
    settings.MODELS_DIR = tmp_path / "models"
    settings.MODELS_DIR.mkdir()
    cnn_models.clear_cache()
    return settings.MODELS_DIR


def page(client: Client, path: str, lang: str = "en") -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200, (path, lang, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("slug", list(WIDGETS))
def test_each_cnn_widget_renders_on_its_lesson_page(
    logged_in_client: Client, course: None, slug: str, lang: str
) -> None:
    html = page(logged_in_client, f"/lessons/{slug}/", lang)
    widget = WIDGETS[slug]
    assert f'<html lang="{lang}">' in html
    assert f'data-widget="{widget}"' in html
    assert f"/static/js/widgets/{widget}.js" in html
    assert "/static/css/cnn.css" in html
    assert "import torch" in html  # the widget's "show the PyTorch code"
    # CSP: nothing inline (MathML's displaystyle="…" is an attribute of its own).
    assert "<script>" not in html and not re.search(r"\sstyle=", html)


def test_visitors_see_the_feature_maps_widget_with_a_login_prompt(
    client: Client, course: None
) -> None:
    html = page(client, "/lessons/feature-maps/")
    assert 'data-testid="login-required"' in html
    assert "/accounts/login/?next=" in html


def test_unavailable_models_are_listed_and_students_never_see_admin_commands(
    logged_in_client: Client, course: None, empty_store: Path
) -> None:
    html = page(logged_in_client, "/lessons/feature-maps/")
    assert 'data-testid="unavailable-models"' in html
    assert "manage.py models pull" not in html  # who can fix it, not the command
    assert '<option value="resnet18" disabled' in html
    # The ImageNet CNN ships in a pip package: ready with an empty store.
    assert '<option value="efficientnet-lite0" selected' in html
    assert 'data-testid="login-required"' not in html


def test_sample_in_the_query_string_is_preselected(
    logged_in_client: Client, course: None
) -> None:
    html = page(logged_in_client, "/lessons/feature-maps/?sample=cat")
    assert 'value="sample:cat" checked' in html
    # A link from before the one catalogue named the photo by its file stem.
    html = page(logged_in_client, "/lessons/feature-maps/?sample=chelsea")
    assert 'value="sample:cat" checked' in html
    assert "sample:chelsea" not in html
    html = page(logged_in_client, "/lessons/feature-maps/?sample=../../etc/passwd")
    assert 'value="sample:../' not in html


def make_run(owner) -> DemoRun:
    run = DemoRun(
        owner=owner,
        detector="yolox-nano",
        score_threshold=0.5,
        image_sha256="0" * 64,
        image_width=512,
        image_height=600,
        elapsed_ms=1.0,
    )
    run.public_id = uuid.uuid4()
    run.image_path = run.annotated_path = run.thumbnail_path = f"{run.folder}/x.jpg"
    run.save()
    return run


def test_what_the_detector_saw_opens_the_owners_run_on_yolox(
    user, logged_in_client: Client, course: None, models_ready: Path
) -> None:
    run = make_run(user)
    html = page(logged_in_client, f"/lessons/feature-maps/?run={run.public_id}")
    assert f'data-run="{run.public_id}"' in html
    assert 'data-testid="run-choice"' in html
    assert '<option value="yolox-nano" selected' in html
    assert 'data-testid="run-missing"' not in html


def test_someone_elses_run_is_not_opened(
    user, other_client: Client, course: None
) -> None:
    run = make_run(user)
    html = page(other_client, f"/lessons/feature-maps/?run={run.public_id}")
    assert 'data-run=""' in html
    assert 'data-testid="run-choice"' not in html
    assert 'data-testid="run-missing"' in html
    html = page(other_client, "/lessons/feature-maps/?run=not-a-uuid")
    assert 'data-testid="run-missing"' in html


@pytest.mark.parametrize(
    "old", ["/lessons/cnn/activations.json", "/lessons/cnn/autoencoder.json"]
)
def test_old_json_alias_paths_are_gone(client: Client, old: str) -> None:
    assert client.get(old).status_code == 404


def test_widgets_read_their_data_from_the_api(client: Client, course: None) -> None:
    html = page(client, "/lessons/activation-batchnorm-dropout/")
    assert 'data-api="/api/v1/cnn/activations/"' in html
    html = page(client, "/lessons/autoencoders-tsne/")
    assert 'data-api="/api/v1/cnn/autoencoder/"' in html
