"""models_store/store.py: states on disk, import by SHA-256, pull, verify."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from models_store import store
from models_store.download import ChecksumMismatch, WeightsUnavailable
from models_store.models import ModelFile
from models_store.registry import register
from tests.conftest import WEIGHTS_DIR
from tests.models_store.conftest import served_spec

YOLOX_FILE = WEIGHTS_DIR / "yolox-nano" / "yolox_nano.onnx"


def test_empty_store_lists_files_missing_with_the_pull_command(empty_store) -> None:
    state = store.model_state("yolox-nano")
    assert state.state == "missing" and not state.is_available
    assert state.fix == "python manage.py models pull yolox-nano"
    assert "models import" in state.reason and "yolox_nano.onnx" in state.reason


def test_hog_is_builtin_and_always_available(empty_store) -> None:
    state = store.model_state("opencv-hog")
    assert state.state == "builtin" and state.is_available and state.fix == ""


def test_imported_store_has_both_onnx_detectors_ready(models_ready) -> None:
    states = {s.key: s for s in store.all_states("person-detection")}
    assert states["yolox-nano"].state == "ready"
    assert states["yolox-nano"].size == YOLOX_FILE.stat().st_size
    assert states["fastestdet"].state == "ready"
    assert states["fasterrcnn_resnet50_fpn_v2"].state == "missing"
    assert store.ready_path("yolox-nano") == models_ready / "yolox_nano.onnx"


def test_all_states_filters_by_task(empty_store) -> None:
    keys = [s.key for s in store.all_states("classification")]
    assert keys == [
        "resnet18",
        "vgg16",
        "alexnet",
        "mobilenet_v3_large",
        "efficientnet-lite0",
    ]


@pytest.mark.django_db
def test_import_folder_copies_model_files_and_skips_the_rest(empty_store) -> None:
    skipped: list[str] = []
    imported = store.import_path(
        WEIGHTS_DIR, on_skip=lambda path, why: skipped.append(path.name)
    )
    assert sorted(s.key for s in imported) == [
        "fastestdet",
        "picodet-s-320",
        "picodet-s-416",
        "yolox-nano",
    ]
    assert sorted(p.name for p in empty_store.iterdir()) == [
        "FastestDet.onnx",
        "picodet_s_320_coco.onnx",
        "picodet_s_416_coco.onnx",
        "yolox_nano.onnx",
    ]
    assert {"LICENSE", "LICENSE.md", "coco.names", "README.md", "NOTICE"} <= set(
        skipped
    )
    rows = {row.key: row for row in ModelFile.objects.all()}
    assert rows["yolox-nano"].source == "import"
    assert rows["yolox-nano"].size == YOLOX_FILE.stat().st_size
    # the copy is writable even though the source folder is read-only
    assert os.access(empty_store / "yolox_nano.onnx", os.W_OK)


@pytest.mark.django_db
def test_import_recognises_a_renamed_file_by_its_hash(empty_store, tmp_path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    shutil.copy(YOLOX_FILE, folder / "download (1).onnx")
    assert [s.key for s in store.import_path(folder / "download (1).onnx")] == [
        "yolox-nano"
    ]
    assert store.model_state("yolox-nano").state == "ready"


def test_import_refuses_a_known_name_with_the_wrong_hash(empty_store, tmp_path) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "yolox_nano.onnx").write_bytes(YOLOX_FILE.read_bytes()[:-10] + b"x" * 10)
    with pytest.raises(ChecksumMismatch, match="yolox-nano"):
        store.import_path(folder, record=False)
    assert store.model_state("yolox-nano").state == "missing"
    assert not empty_store.exists() or list(empty_store.iterdir()) == []


def test_import_of_unknown_files_imports_nothing(empty_store, tmp_path) -> None:
    (tmp_path / "other.onnx").write_bytes(b"not a registered model")
    assert store.import_path(tmp_path / "other.onnx", record=False) == []


def test_import_of_a_missing_path_says_so(empty_store, tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        store.import_path(tmp_path / "nowhere")


def test_truncated_file_is_corrupt_with_the_fix(empty_store) -> None:
    empty_store.mkdir()
    (empty_store / "yolox_nano.onnx").write_bytes(YOLOX_FILE.read_bytes()[:1000])
    state = store.model_state("yolox-nano")
    assert state.state == "corrupt"
    assert "1000 bytes" in state.reason
    assert state.fix == "python manage.py models pull yolox-nano"
    with pytest.raises(WeightsUnavailable) as caught:
        store.ready_path("yolox-nano")
    assert "models pull yolox-nano" in str(caught.value)
    assert "github.com" in str(caught.value)


def test_same_size_file_with_other_bytes_is_corrupt(empty_store) -> None:
    empty_store.mkdir()
    data = bytearray(YOLOX_FILE.read_bytes())
    data[5000] ^= 0xFF
    (empty_store / "yolox_nano.onnx").write_bytes(bytes(data))
    assert store.model_state("yolox-nano").state == "corrupt"
    assert "SHA-256" in store.model_state("yolox-nano").reason


def test_replacing_a_verified_file_is_noticed(empty_store) -> None:
    store.import_path(YOLOX_FILE, record=False)
    assert store.model_state("yolox-nano").state == "ready"
    path = empty_store / "yolox_nano.onnx"
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(1, 1))  # a different mtime, as any rewrite would give
    assert store.model_state("yolox-nano").state == "corrupt"


def test_verify_all_rehashes_every_file(empty_store) -> None:
    store.import_path(YOLOX_FILE, record=False)
    states = {s.key: s.state for s in store.verify_all()}
    assert states["yolox-nano"] == "ready" and states["fastestdet"] == "missing"


@pytest.mark.django_db
def test_pull_downloads_into_the_store_and_records_it(
    empty_store, http_root, registered
) -> None:
    root, url = http_root
    spec = served_spec(root, url, b"weights " * 5000, "test-pull")
    register(spec)
    registered.append(spec.key)
    path = store.pull(spec.key)
    assert (
        path == empty_store / spec.filename and path.read_bytes() == b"weights " * 5000
    )
    assert ModelFile.objects.get(key=spec.key).source == "download"
    assert store.pull(spec.key) == path  # already ready: nothing downloaded again


def test_pull_without_network_leaves_the_store_empty(
    empty_store, http_root, registered
) -> None:
    root, url = http_root
    spec = served_spec(root, url, b"abc", "test-offline")
    (root / spec.filename).unlink()  # the server no longer has it
    register(spec)
    registered.append(spec.key)
    with pytest.raises(WeightsUnavailable, match=spec.url):
        store.pull(spec.key, record=False)
    assert store.model_state(spec.key).state == "missing"
    assert not any(empty_store.glob("*.partial"))


def test_pull_of_a_builtin_model_is_a_no_op(empty_store) -> None:
    assert store.pull("opencv-hog") is None


def test_store_directory_comes_from_settings_at_call_time(
    settings, tmp_path: Path
) -> None:
    settings.MODELS_DIR = tmp_path / "a"
    assert store.models_dir() == tmp_path / "a"
    settings.MODELS_DIR = tmp_path / "b"
    assert store.models_dir() == tmp_path / "b"
