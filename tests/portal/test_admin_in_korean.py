"""An instructor's admin is Korean: every model, field and list column is translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client
from django.utils import translation

from demos.people import services
from models_store.labels import licence_label
from models_store.registry import REGISTRY
from tests.factories import make_user

HANGUL = re.compile(r"[\uac00-\ud7a3]")
APPS = ("accounts", "demos", "models_store")


def needs_words(english: str) -> bool:
    """True when a label has English words (not just "SHA-256" or "ID")."""
    return bool(re.search(r"[a-z]{2,}", english))


def korean(text: object) -> str:
    with translation.override("ko"):
        return str(text)


@pytest.mark.parametrize("app_label", APPS)
def test_every_model_and_field_has_a_korean_name(app_label) -> None:
    untranslated = []
    for model in apps.get_app_config(app_label).get_models():
        meta = model._meta
        names = [meta.verbose_name, meta.verbose_name_plural]
        # A proxy's fields belong to a library (axes, knox): its admin names them.
        fields = [] if meta.proxy else meta.get_fields()
        names += [f.verbose_name for f in fields if hasattr(f, "verbose_name")]
        for name in names:
            if needs_words(str(name)) and not HANGUL.search(korean(name)):
                untranslated.append(f"{meta.label}: {name}")
    assert untranslated == []


def test_no_plural_is_made_by_appending_an_s() -> None:
    for app_label in APPS:
        for model in apps.get_app_config(app_label).get_models():
            assert not str(model._meta.verbose_name_plural).endswith("ss")


def test_every_licence_in_words_is_translated() -> None:
    for spec in REGISTRY.values():
        if re.search(r"trained|project", spec.license):
            with translation.override("ko"):
                assert HANGUL.search(licence_label(spec.license)), spec.license


@pytest.fixture
def instructor() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(make_user(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_admin_index_names_every_model_in_korean(instructor) -> None:
    html = instructor.get("/admin/").content.decode()
    names = ("사람 찾기 실행 기록", "검출 작업", "강의 완료 기록", "로그인 시도 제한")
    for name in names:
        assert name in html
    for english in ("Demo runs", "Detection jobs", "Lesson progress", "Login buckets"):
        assert english not in html


@pytest.mark.django_db
def test_run_list_shows_owner_count_thumbnail_detector_and_full_date(
    instructor, user, samples_dir: Path, models_ready
) -> None:
    run = services.create_demo_run(
        owner=user,
        data=(samples_dir / "people" / "apollo11_crew.jpg").read_bytes(),
        original_name="apollo11_crew.jpg",
        detector_key="yolox-nano",
        score_threshold=None,
    )
    html = instructor.get("/admin/demos/demorun/").content.decode()
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert headers == [
        "thumbnail",
        "owner",
        "person_count",
        "detector_name",
        "original_name",
        "created_at",
    ]
    for label in ("소유자", "사람 수", "검출기", "만든 시각", "썸네일"):
        assert label in html
    assert f"/demos/people/{run.public_id}/thumb.jpg" in html
    row = html[html.index('class="field-person_count"') :]
    assert re.match(r'class="field-person_count">3<', row)
    assert "YOLOX-Nano" in html
    assert f"{run.created.year}년" in html


@pytest.mark.django_db
def test_model_store_table_is_korean_and_scrolls_sideways(instructor) -> None:
    html = instructor.get("/admin/models_store/modelfile/").content.decode()
    assert '<div class="table-scroll">' in html
    assert "사람 검출" in html and "person-detection" not in html
    assert "COCO 2017로 학습" in html and "trained on" not in html
    assert "다운로드" in html
    assert "css/admin.css" in html
