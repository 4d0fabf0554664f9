"""EfficientNet-Lite0 on ONNX Runtime (demos/ml/efficientnet_onnx.py): the export
gives what the torch model gives — every layer's maps, the top 5, Grad-CAM (in closed
form, no autograd) and the linked view — and the feature-map lesson then runs in a
process that never imports torch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from demos.ml import efficientnet_onnx, imagenet
from demos.ml import networks as cnn_models
from demos.ml.receptive_field import spatial_layers
from models_store import loading
from tests.conftest import SAMPLES_DIR
from tests.fresh_process import run_in_fresh_process

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("exports")
    efficientnet_onnx.export(folder)
    return folder


@pytest.fixture
def both(settings, export_dir: Path, tmp_path: Path):
    """(ONNX model, torch model) of the lesson, built from the same weights."""
    loading.clear_cache()
    settings.CNN_ONNX = False
    torch_model = cnn_models.get_cnn_model("efficientnet-lite0")
    loading.clear_cache()
    settings.CNN_ONNX = True
    settings.MODELS_DIR = tmp_path / "models"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "exports").symlink_to(export_dir)
    onnx_model = cnn_models.get_cnn_model("efficientnet-lite0")
    yield onnx_model, torch_model
    loading.clear_cache()


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return np.asarray(Image.open(SAMPLES_DIR / "nobody/chelsea.png").convert("RGB"))


def test_the_manifest_records_every_files_sha256(export_dir: Path) -> None:
    manifest = json.loads((export_dir / efficientnet_onnx.MANIFEST_NAME).read_text())
    assert manifest["source_sha256"] == imagenet.WEIGHTS_SHA256
    onnx_file = export_dir / efficientnet_onnx.ONNX_NAME
    assert manifest["onnx_sha256"] == efficientnet_onnx.sha256_of(onnx_file)
    assert manifest["outputs"] == ["logits", *(f"features.{i}" for i in range(9))]


def test_the_onnx_model_sees_and_says_what_the_torch_model_does(both, cat) -> None:
    onnx_model, torch_model = both
    assert type(onnx_model).__name__ == "EfficientNetOnnxCnn"
    assert type(torch_model).__name__ == "EfficientNetCnn"
    fast, slow = onnx_model.run(cat), torch_model.run(cat)
    np.testing.assert_array_equal(fast.input_preview, slow.input_preview)
    assert fast.top5_index == slow.top5_index
    assert fast.top5[0][0] in {"tabby", "tiger cat", "Egyptian cat"}
    for (_name, p), (_same, q) in zip(fast.top5, slow.top5, strict=True):
        assert p == pytest.approx(q, abs=1e-4)
    for layer, maps in slow.maps.items():
        assert fast.maps[layer].shape == maps.shape
        np.testing.assert_allclose(fast.maps[layer], maps, atol=2e-3, rtol=1e-3)
    np.testing.assert_array_equal(
        onnx_model.filters("features.0"), torch_model.filters("features.0")
    )
    assert onnx_model.filters("features.3") is None


@pytest.mark.parametrize("rank", [0, 1, 4])
def test_closed_form_grad_cam_is_autograds_grad_cam(both, cat, rank: int) -> None:
    onnx_model, torch_model = both
    index = onnx_model.run(cat).top5_index[rank]
    fast = onnx_model.explain(cat, index)
    slow = torch_model.explain(cat, index)
    assert (fast.label, fast.index) == (slow.label, slow.index)
    np.testing.assert_allclose(fast.cam, slow.cam, atol=1e-4)
    np.testing.assert_allclose(np.array(fast.grid), np.array(slow.grid), atol=2e-3)
    assert np.abs(fast.overlay.astype(int) - slow.overlay.astype(int)).max() <= 2


@pytest.mark.parametrize(
    ("stage", "channel", "y", "x"),
    [(0, 5, 40, 70), (0, 31, 111, 111), (3, 7, 10, 20), (8, 100, 3, 4)],
)
def test_the_linked_view_is_the_same_view(both, cat, stage, channel, y, x) -> None:
    onnx_model, torch_model = both
    fast = onnx_model.linked_view(cat, stage, channel, y, x)
    slow = torch_model.linked_view(cat, stage, channel, y, x)
    assert (fast.field, fast.shape, fast.input_size) == (
        slow.field,
        slow.shape,
        slow.input_size,
    )
    assert fast.value == pytest.approx(slow.value, abs=2e-3)
    assert fast.channel_mean == pytest.approx(slow.channel_mean, abs=1e-3)
    assert [r["index"] for r in fast.top] == [r["index"] for r in slow.top]
    for mine, theirs in zip(fast.top, slow.top, strict=True):
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert mine[key] == pytest.approx(theirs[key], abs=2e-3)
    assert (fast.dot is None) == (slow.dot is None)
    if fast.dot is not None and slow.dot is not None:
        assert fast.dot.pixels == slow.dot.pixels
        assert fast.dot.origin == slow.dot.origin
        assert fast.dot.pre_activation == pytest.approx(slow.dot.pre_activation, 1e-5)
        assert fast.dot.value == pytest.approx(fast.value, abs=1e-4)


@pytest.mark.parametrize("stage", range(9))
def test_the_windows_without_torch_are_the_torch_models(stage: int) -> None:
    model = imagenet.EfficientNetLite0()
    assert efficientnet_onnx.windows(stage) == spatial_layers(
        model.features[: stage + 1]
    )


def test_a_damaged_export_falls_back_to_torch(settings, tmp_path, export_dir) -> None:
    folder = tmp_path / "models" / "exports"
    folder.mkdir(parents=True)
    for path in export_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    onnx_file = folder / efficientnet_onnx.ONNX_NAME
    onnx_file.write_bytes(onnx_file.read_bytes()[:-10] + b"0123456789")
    settings.MODELS_DIR = tmp_path / "models"
    settings.CNN_ONNX = True
    with pytest.raises(efficientnet_onnx.ExportMissing, match="SHA-256"):
        cnn_models.efficientnet_onnx_files()
    loading.clear_cache()
    try:
        model = cnn_models.get_cnn_model("efficientnet-lite0")
        assert type(model).__name__ == "EfficientNetCnn"
    finally:
        loading.clear_cache()


def test_the_command_exports_once(settings, tmp_path: Path, export_dir: Path) -> None:
    settings.MODELS_DIR = tmp_path / "models"
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "exports").symlink_to(export_dir)
    out = __import__("io").StringIO()
    call_command("export_onnx", stdout=out)
    assert "intact" in out.getvalue()


def test_the_lesson_api_runs_without_torch(tmp_path: Path, export_dir: Path) -> None:
    """Feature maps, Grad-CAM of a second class and the linked view in a fresh
    process: torch, torchvision and matplotlib are never imported."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "exports").symlink_to(export_dir)
    code = """
import django, sys
django.setup()
from demos.widgets import maps
r = maps.render_feature_maps(model_key='efficientnet-lite0', layer='features.3',
                             sample='chelsea')
second = r.top5[1]['index']
c = maps.render_feature_maps(model_key='efficientnet-lite0', layer='features.8',
                             sample='chelsea', cam_class=second)
v = maps.linked_view(model_key='efficientnet-lite0', layer='features.0', channel=3,
                     y=10, x=10, maps=maps.maps_id(r.scope, r.digest))
assert r.cam['grid'] and c.cam['index'] == second and v['dot'], (r, c, v)
print(r.top5[0]['label'], *(m in sys.modules for m in
      ('torch', 'torchvision', 'matplotlib', 'onnx')))
"""
    last = run_in_fresh_process(
        code,
        cache_dir=tmp_path / "cache",
        PORTAL_CNN_ONNX="true",
        PORTAL_MODELS_DIR=str(models),
    )
    assert last.endswith("False False False False"), last
    assert last.split(" False")[0] in {"tabby", "tiger cat", "Egyptian cat"}


def test_the_master_warms_the_onnx_model_and_workers_inherit_it(
    both, monkeypatch
) -> None:
    """gunicorn's when_ready builds the session before the fork; post_worker_init
    then starts no warm-up thread of its own."""
    import runpy

    from demos.ml import cnn_warmup
    from demos.ml.detection import warmup

    monkeypatch.setattr(cnn_warmup, "_state", {"state": "cold", "model": None})
    started: list[int] = []
    monkeypatch.setattr(cnn_warmup, "start_warming", lambda: started.append(1))
    monkeypatch.setattr(warmup, "start_warming", lambda: None)
    hooks = runpy.run_path(str(REPO / "gunicorn.conf.py"))
    assert cnn_warmup.warm_before_fork() is True
    state = cnn_warmup.warmth()
    assert (state["state"], state["where"]) == ("warm", "master")
    hooks["post_worker_init"](None)
    assert started == []


def test_no_export_no_warm_up_in_the_master(settings, tmp_path, monkeypatch) -> None:
    from demos.ml import cnn_warmup

    monkeypatch.setattr(cnn_warmup, "_state", {"state": "cold", "model": None})
    settings.CNN_ONNX = True
    settings.MODELS_DIR = tmp_path / "empty"
    assert cnn_warmup.warm_before_fork() is False
    assert cnn_warmup.warmth()["state"] == "cold"
