"""Feature-map images of a student's own photo or drawing are theirs alone.

The images are served by demos/cnn/views.py at /lessons/cnn/maps/mine/<digest>/...
and created through /api/v1/feature-maps/ and /api/v1/digits/predict/ (another
engineer's code, tested here for access only). Uses the committed digits model,
so no weights are needed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.test import Client

from demos.people import services
from tests.factories import make_api_token
from tests.support import body_of, upload

pytestmark = pytest.mark.django_db


def local(url: str) -> str:
    return url.removeprefix("http://testserver")


@pytest.fixture
def maps_of_alices_photo(api, samples_dir) -> dict:
    response = api.post(
        "/api/v1/feature-maps/",
        {
            "image": upload(samples_dir, "people/grace_hopper.jpg"),
            "model": "digits-cnn",
            "layer": "conv1",
        },
        format="multipart",
    )
    assert response.status_code == 200, response.content
    return response.json()


def image_urls(body: dict) -> list[str]:
    urls = [body["grid_url"], body["strongest_grid_url"], body["input_url"]]
    urls += [item["png_url"] for item in body["maps"][:2]]
    if body["filters_url"]:
        urls.append(body["filters_url"])
    return [local(url) for url in urls]


def cache_fingerprint(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_owner_sees_the_images_as_nosniff_pngs(api, maps_of_alices_photo) -> None:
    urls = image_urls(maps_of_alices_photo)

    for url in urls:
        assert "/mine/" in url
        response = api.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "image/png"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "private" in response["Cache-Control"]
        assert body_of(response).startswith(b"\x89PNG")


def test_other_user_and_anonymous_get_404_and_the_owners_maps_stay(
    api, other_api, maps_of_alices_photo, settings
) -> None:
    urls = image_urls(maps_of_alices_photo)
    for url in urls:  # draw every image once, so the cache holds them all
        api.get(url)
    before = cache_fingerprint(settings.FEATURE_MAP_CACHE_DIR)

    answers = {url: other_api.get(url).status_code for url in urls}
    anonymous = {url: Client().get(url).status_code for url in urls}

    assert set(answers.values()) == {404}
    assert set(anonymous.values()) == {404}
    assert cache_fingerprint(settings.FEATURE_MAP_CACHE_DIR) == before


def test_other_user_cannot_get_feature_maps_of_someone_elses_run(
    user, other_api, samples_dir, models_ready, settings
) -> None:
    run = services.create_demo_run(
        owner=user,
        data=(samples_dir / "people" / "jockey.jpg").read_bytes(),
        original_name="jockey.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )

    response = other_api.post(
        "/api/v1/feature-maps/",
        {"run": str(run.public_id), "model": "digits-cnn", "layer": "conv1"},
        format="multipart",
    )

    assert response.status_code == 404
    assert not (Path(settings.FEATURE_MAP_CACHE_DIR) / "maps" / "users").exists()


def test_other_user_gets_404_for_someone_elses_drawing(
    api, other_api, samples_dir
) -> None:
    drawn = api.post(
        "/api/v1/digits/predict/",
        {"image": upload(samples_dir, "people/grace_hopper.jpg")},
        format="multipart",
    ).json()
    maps_url = local(drawn["maps_url"])
    own = api.get(maps_url)

    other = other_api.get(maps_url)

    assert own.status_code == 200
    assert other.status_code == 404
    assert other_api.get(local(own.json()["input_url"])).status_code == 404


def test_staff_can_open_a_students_feature_map_images(
    staff_user, maps_of_alices_photo
) -> None:
    client = Client()
    client.force_login(staff_user)

    assert client.get(local(maps_of_alices_photo["grid_url"])).status_code == 200


def test_token_client_can_fetch_its_own_feature_map_images(
    user, maps_of_alices_photo
) -> None:
    token = make_api_token(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.get(local(maps_of_alices_photo["grid_url"])).status_code == 200
