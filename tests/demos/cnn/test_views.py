"""CNN lesson widgets on their lesson pages, ?run= and ?sample=, and their JSON data."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from demos.cnn import networks as cnn_models
from demos.lessons.services import load_lessons
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
    assert "<script>" not in html and 'style="' not in html  # CSP: nothing inline


def test_visitors_see_the_feature_maps_widget_with_a_login_prompt(
    client: Client, course: None
) -> None:
    html = page(client, "/lessons/feature-maps/")
    assert 'data-testid="login-required"' in html
    assert "/accounts/login/?next=" in html


def test_unavailable_models_are_listed_with_the_command_that_adds_them(
    logged_in_client: Client, course: None, empty_store: Path
) -> None:
    html = page(logged_in_client, "/lessons/feature-maps/")
    assert 'data-testid="unavailable-models"' in html
    assert "python manage.py models pull resnet18" in html
    assert '<option value="resnet18" disabled' in html
    assert '<option value="digits-cnn" selected' in html
    assert 'data-testid="login-required"' not in html


def test_sample_in_the_query_string_is_preselected(
    logged_in_client: Client, course: None
) -> None:
    html = page(logged_in_client, "/lessons/feature-maps/?sample=chelsea")
    assert 'value="sample:chelsea" checked' in html
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


def test_activations_data_follows_a_map_through_relu_batchnorm_and_dropout(
    client: Client,
) -> None:
    response = client.get("/lessons/cnn/activations.json?sample=astronaut&channel=2")
    assert response.status_code == 200
    data = response.json()
    stages = {stage["key"]: stage for stage in data["stages"]}
    assert list(stages) == [
        "conv",
        "relu",
        "bn_train",
        "bn_eval",
        "bn_relu",
        "dropout_train",
        "dropout_eval",
    ]
    assert stages["relu"]["stats"]["min"] >= 0
    assert stages["relu"]["stats"]["zeros"] >= stages["conv"]["stats"]["zeros"]
    # Train-mode batch norm uses this image's statistics: mean 0, std 1 before γ/β.
    assert stages["bn_train"]["stats"] != stages["bn_eval"]["stats"]
    assert stages["dropout_eval"]["stats"] == stages["bn_relu"]["stats"]
    assert (
        stages["dropout_train"]["stats"]["zeros"] > stages["bn_relu"]["stats"]["zeros"]
    )
    for stage in stages.values():
        assert stage["image"].startswith("data:image/png;base64,")
        assert sum(stage["histogram"]["counts"]) == 128 * 128


def test_activations_data_rejects_a_bad_channel_or_sample(client: Client) -> None:
    assert client.get("/lessons/cnn/activations.json?channel=9").status_code == 400
    assert client.get("/lessons/cnn/activations.json?channel=x").status_code == 400
    assert client.get("/lessons/cnn/activations.json?sample=nope").status_code == 400


def test_autoencoder_data_has_reconstructions_and_three_tsne_maps(
    client: Client,
) -> None:
    response = client.get("/lessons/cnn/autoencoder.json")
    assert response.status_code == 200
    data = response.json()
    assert len(data["labels"]) == len(data["digits"]) == 360
    assert len(data["reconstructions"][0]) == 64
    assert set(data["tsne"]) == {"pixels", "autoencoder", "cnn"}
    for points in data["tsne"].values():
        assert len(points) == 360
        assert all(-1 <= value <= 1 for point in points for value in point)
    assert sum(data["errors"]) / len(data["errors"]) < 0.05
