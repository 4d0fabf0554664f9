"""Lesson 11's t-SNE map at the perplexity the student picks: four precomputed
maps (train_digits writes them), each with how well it keeps digits together."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from demos.lessons.services import load_lessons
from demos.ml import digits as digits_model
from demos.ml import tsne_maps

URL = "/api/v1/cnn/tsne/"


def test_the_widget_offers_the_perplexities_train_digits_computes() -> None:
    assert tsne_maps.TSNE_PERPLEXITIES == digits_model.TSNE_PERPLEXITIES
    meta = digits_model.read_meta(digits_model.TSNE_FILE)
    for perplexity in tsne_maps.TSNE_PERPLEXITIES:
        views = digits_model.tsne_views(meta, perplexity)
        assert set(views) == {"pixels", "autoencoder", "cnn"}


def test_neighbour_agreement_counts_same_label_neighbours() -> None:
    points = np.array([[0, 0], [0, 1], [10, 0], [10, 1]], float)
    assert digits_model.neighbour_agreement(points, np.array([1, 1, 2, 2]), k=1) == 1
    assert digits_model.neighbour_agreement(points, np.array([1, 2, 1, 2]), k=1) == 0


@pytest.mark.parametrize("perplexity", [5, 15, 30, 50])
def test_each_perplexity_has_its_own_three_maps(
    client: Client, perplexity: int
) -> None:
    response = client.get(URL, {"perplexity": perplexity})
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=3600"
    body = response.json()
    assert body["perplexity"] == perplexity
    assert body["perplexities"] == [5, 15, 30, 50]
    for name, points in body["views"].items():
        assert len(points) == 360
        assert all(-1 <= value <= 1 for point in points for value in point)
        assert 0 <= body["agreement"][name] <= 1
    # Learnt features keep each digit together better than raw pixels do.
    assert body["agreement"]["cnn"] > body["agreement"]["pixels"]


def test_the_maps_differ_between_perplexities(client: Client) -> None:
    low = client.get(URL, {"perplexity": 5}).json()["views"]["cnn"]
    high = client.get(URL, {"perplexity": 50}).json()["views"]["cnn"]
    assert np.abs(np.array(low) - np.array(high)).mean() > 0.05
    # Perplexity 30 is the map the autoencoder endpoint has always served.
    main = client.get(URL, {"perplexity": 30}).json()["views"]
    assert main == client.get("/api/v1/cnn/autoencoder/").json()["tsne"]


@pytest.mark.parametrize("value", ["7", "x", "-5", "1000"])
def test_an_unoffered_perplexity_is_a_400(client: Client, value: str) -> None:
    response = client.get(URL, {"perplexity": value})
    assert response.status_code == 400
    assert "perplexity" in response.json()


@pytest.mark.django_db
def test_the_lesson_page_has_the_perplexity_control_and_its_explanation(
    client: Client,
) -> None:
    load_lessons()
    html = client.get("/lessons/autoencoders-tsne/").content.decode()
    widget = html.split('data-testid="widget-autoencoder-tsne"')[1]
    assert 'data-tsne-api="/api/v1/cnn/tsne/"' in widget
    for value in (5, 15, 30, 50):
        assert f'data-testid="tsne-perplexity-{value}"' in widget
    assert 'value="30" checked' in widget
    assert "how many neighbours each digit tries to keep close" in widget
