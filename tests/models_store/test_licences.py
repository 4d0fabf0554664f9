"""THIRD_PARTY.md is generated from the catalogue and requirements.txt, and current."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from models_store import licences
from models_store.registry import REGISTRY


def test_third_party_file_is_up_to_date() -> None:
    assert licences.THIRD_PARTY.read_text(encoding="utf-8") == (
        licences.third_party_markdown()
    ), "run: python manage.py models licences --write"


def test_every_model_file_is_listed_with_its_licence() -> None:
    text = licences.third_party_markdown()
    for key, spec in REGISTRY.items():
        assert f"| `{key}` | {spec.name} |" in text
        assert spec.license in text


def test_pinned_packages_are_read_without_extras(tmp_path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# a comment\ncelery[redis]==5.7.0\n-r other.txt\nx==1 # y\n"
    )
    assert licences.pinned_packages(requirements) == [("celery", "5.7.0"), ("x", "1")]


def test_the_command_prints_the_file() -> None:
    out = StringIO()
    call_command("models", "licences", stdout=out)
    assert out.getvalue() == licences.third_party_markdown()
