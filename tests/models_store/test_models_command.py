"""`python manage.py models list|pull|import|verify` through call_command."""

from __future__ import annotations

import socket
from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from models_store.models import ModelFile
from models_store.registry import REGISTRY, register
from tests.conftest import WEIGHTS_DIR
from tests.models_store.conftest import served_spec

pytestmark = pytest.mark.django_db


def run(*args: str, verbosity: int = 1) -> str:
    out = StringIO()
    call_command("models", *args, stdout=out, stderr=StringIO(), verbosity=verbosity)
    return out.getvalue()


def test_list_shows_every_model_with_state_size_and_licence(models_ready) -> None:
    lines = run("list").splitlines()
    assert lines[0].split() == ["KEY", "TASK", "STATE", "SIZE", "LICENCE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["yolox-nano"][2] == "ready" and rows["yolox-nano"][3:5] == ["3.5", "MB"]
    assert rows["opencv-hog"][2] == "builtin"
    assert rows["fcos_resnet50_fpn"][2] == "missing"
    assert rows["resnet18"][1] == "classification"
    assert "Apache-2.0" in " ".join(rows["yolox-nano"])


def test_list_at_verbosity_2_explains_how_to_fix_missing_models(empty_store) -> None:
    assert "Fix: python manage.py models pull yolox-nano" in run("list", verbosity=2)


def test_import_of_the_shared_folder_makes_every_detector_ready(empty_store) -> None:
    out = run("import", str(WEIGHTS_DIR))
    assert "imported yolox-nano" in out and "imported fastestdet" in out
    assert "imported picodet-s-416" in out and "imported picodet-s-320" in out
    assert "LICENSE" not in out  # licences and class lists are skipped quietly
    assert set(ModelFile.objects.values_list("key", flat=True)) == {
        "yolox-nano",
        "fastestdet",
        "picodet-s-416",
        "picodet-s-320",
    }
    assert "ready" in run("list").split("yolox-picodet-wbf", 1)[1].splitlines()[0]
    assert "ready" in run("list").split("yolox-nano", 1)[1].splitlines()[0]


def test_import_reports_skipped_files_when_verbose(empty_store) -> None:
    assert "skipped" in run("import", str(WEIGHTS_DIR), verbosity=2)


def test_import_of_a_folder_without_models_fails(empty_store, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CommandError, match="No registered model file"):
        run("import", str(tmp_path))
    with pytest.raises(CommandError, match="does not exist"):
        run("import", str(tmp_path / "nowhere"))


def test_import_of_a_tampered_file_fails_naming_it(empty_store, tmp_path) -> None:
    data = (WEIGHTS_DIR / "fastestdet" / "FastestDet.onnx").read_bytes()
    (tmp_path / "FastestDet.onnx").write_bytes(data[:-1] + b"\0")
    with pytest.raises(CommandError, match="FastestDet.onnx"):
        run("import", str(tmp_path))


def test_pull_default_when_ready_does_nothing(models_ready) -> None:
    assert "already ready" in run("pull", "--default")


def test_pull_downloads_with_a_progress_bar(empty_store, http_root, registered) -> None:
    root, url = http_root
    spec = served_spec(root, url, b"w" * 300_000, "test-cmd-pull")
    register(spec)
    registered.append(spec.key)
    out = run("pull", spec.key)
    assert "100.0%" in out and f"{spec.key} is ready" in out
    assert (empty_store / spec.filename).stat().st_size == 300_000


def test_pull_without_internet_fails_at_once_naming_url_and_import(
    empty_store, registered
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/yolox_nano.onnx"
    register(replace(REGISTRY["yolox-nano"], url=url))
    with pytest.raises(CommandError) as caught:
        run("pull", "--default", "--timeout", "5")
    message = str(caught.value)
    assert url in message and "python manage.py models import" in message
    assert "\n" not in message
    assert not empty_store.exists() or list(empty_store.iterdir()) == []


def test_pull_of_an_unknown_model_fails(empty_store) -> None:
    with pytest.raises(CommandError, match="Unknown model"):
        run("pull", "yolo-v99")


def test_verify_passes_on_good_files_and_fails_on_corrupt_ones(empty_store) -> None:
    run("import", str(WEIGHTS_DIR))
    assert "ready" in run("verify")
    path = empty_store / "FastestDet.onnx"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(CommandError, match="fastestdet.*models pull fastestdet"):
        run("verify")
