"""The admin shows every model's live state and downloads only on a POST."""

from __future__ import annotations

import pytest
from django.test import Client

from models_store.registry import register
from tests.conftest import WEIGHTS_DIR
from tests.factories import make_user
from tests.models_store.conftest import served_spec

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/models_store/modelfile/"


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(make_user(username="root", is_staff=True, is_superuser=True))
    return client


def test_admin_lists_every_model_with_its_state(admin_client, models_ready) -> None:
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    text = response.content.decode()
    assert "YOLOX-Nano" in text and "Faster R-CNN ResNet-50 FPN v2" in text
    assert "model-state-ready" in text and "model-state-missing" in text
    assert "python manage.py models pull fcos_resnet50_fpn" in text


def test_admin_download_button_pulls_a_missing_model(
    admin_client, empty_store, http_root, registered
) -> None:
    root, url = http_root
    spec = served_spec(root, url, b"admin weights", "test-admin-pull")
    register(spec)
    registered.append(spec.key)
    pull_url = f"{CHANGELIST}pull/{spec.key}/"
    assert admin_client.get(pull_url).status_code == 405  # never on a GET
    assert not (empty_store / spec.filename).exists()
    response = admin_client.post(pull_url, follow=True)
    assert response.status_code == 200
    assert (empty_store / spec.filename).read_bytes() == b"admin weights"
    assert f"{spec.name} is ready" in response.content.decode()
    assert spec.key in admin_client.get(CHANGELIST).content.decode()


def test_admin_download_failure_is_shown_as_a_message(
    admin_client, empty_store, http_root, registered
) -> None:
    root, url = http_root
    spec = served_spec(root, url, b"x", "test-admin-gone")
    (root / spec.filename).unlink()
    register(spec)
    registered.append(spec.key)
    response = admin_client.post(f"{CHANGELIST}pull/{spec.key}/", follow=True)
    assert "HTTP 404" in response.content.decode()


def test_admin_verify_all_reports_each_file(admin_client, empty_store) -> None:
    from models_store import store

    store.import_path(WEIGHTS_DIR)
    response = admin_client.post(f"{CHANGELIST}verify-all/", follow=True)
    text = response.content.decode()
    assert "YOLOX-Nano: verified." in text
    assert "fcos_resnet50_fpn" in text


def test_verify_action_on_rows(admin_client, empty_store) -> None:
    from models_store import store
    from models_store.models import ModelFile

    store.import_path(WEIGHTS_DIR)
    ids = list(ModelFile.objects.values_list("pk", flat=True))
    response = admin_client.post(
        CHANGELIST,
        {"action": "verify_selected", "_selected_action": ids},
        follow=True,
    )
    assert "FastestDet: verified." in response.content.decode()


def test_students_cannot_open_the_model_admin(empty_store) -> None:
    client = Client()
    client.force_login(make_user(username="student"))
    assert client.get(CHANGELIST).status_code == 302
    assert client.post(f"{CHANGELIST}pull/yolox-nano/").status_code == 302
