"""Transfer learning: ImageFolder ZIPs read safely, a real run, prediction (torch
and its ONNX export, with the class activation map), code."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from demos.ml import transfer, transfer_onnx
from tests.demos.ml.zips import SAMPLES_DIR, jpeg, people_vs_nobody_zip

REPO = Path(__file__).resolve().parents[3]


def make_zip(files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


@pytest.fixture(scope="module")
def small_jpeg() -> bytes:
    image = Image.open(SAMPLES_DIR / "nobody/chelsea.png")
    image.thumbnail((64, 64))
    return jpeg(image)


def refusal(source, limits=None) -> str:
    with pytest.raises(transfer.DatasetRefused) as caught:
        transfer.read_image_folder_zip(source, limits)
    return str(caught.value)


# ------------------------------------------------------------------ reading


def test_reads_classes_sorted_with_their_images(small_jpeg) -> None:
    source = make_zip(
        {
            "cats/a.jpg": small_jpeg,
            "cats/b.jpg": small_jpeg,
            "birds/c.jpg": small_jpeg,
            "birds/d.jpg": small_jpeg,
            "__MACOSX/cats/._a.jpg": b"junk",
            "cats/.DS_Store": b"junk",
        }
    )
    folder = transfer.read_image_folder_zip(source)
    assert folder.classes == ["birds", "cats"]
    assert folder.counts == {"birds": 2, "cats": 2}
    assert all(item.image.mode == "RGB" for item in folder.train)


def test_one_root_folder_and_a_train_val_split_are_understood(small_jpeg) -> None:
    files = {
        f"data/{split}/{cls}/{i}.jpg": small_jpeg
        for split in ("train", "val")
        for cls in ("a", "b")
        for i in range(2)
    }
    folder = transfer.read_image_folder_zip(make_zip(files))
    assert folder.classes == ["a", "b"]
    assert len(folder.train) == 4 and len(folder.val) == 4


def test_refuses_a_file_that_is_not_a_zip() -> None:
    assert "not a ZIP" in refusal(io.BytesIO(b"hello"))


def test_refuses_one_class(small_jpeg) -> None:
    message = refusal(make_zip({"cats/a.jpg": small_jpeg, "cats/b.jpg": small_jpeg}))
    assert "one class (cats)" in message


def test_refuses_files_outside_class_folders(small_jpeg) -> None:
    message = refusal(make_zip({"a.jpg": small_jpeg, "cats/b.jpg": small_jpeg}))
    assert "a.jpg is not inside a class folder" in message


def test_refuses_a_file_that_is_not_an_image_and_names_it(small_jpeg) -> None:
    files = {
        "cats/a.jpg": small_jpeg,
        "cats/b.jpg": small_jpeg,
        "dogs/c.jpg": small_jpeg,
        "dogs/notes.txt": b"not a photo",
    }
    assert "dogs/notes.txt is not an image file" in refusal(make_zip(files))
    files["dogs/notes.txt"] = b"not a photo either"
    files = {k.replace("notes.txt", "fake.jpg"): v for k, v in files.items()}
    assert "dogs/fake.jpg: This file is not an image" in refusal(make_zip(files))


@pytest.mark.parametrize("name", ["../evil/a.jpg", "cats/../../a.jpg", "/etc/a.jpg"])
def test_refuses_names_that_climb_out_or_are_absolute(small_jpeg, name) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cats/a.jpg", small_jpeg)
        archive.writestr(zipfile.ZipInfo(name), small_jpeg)
    buffer.seek(0)
    assert "../ or absolute" in refusal(buffer)


def test_refuses_a_zip_bomb_by_its_packing_ratio() -> None:
    source = make_zip({"a/zeros.jpg": b"\0" * 20_000_000, "b/x.jpg": b"x"})
    assert "refused as a zip bomb" in refusal(source)


def test_refuses_more_bytes_than_allowed(small_jpeg) -> None:
    limits = transfer.ZipLimits(max_total_bytes=len(small_jpeg) * 3)
    files = {f"{c}/{i}.jpg": small_jpeg for c in "ab" for i in range(2)}
    assert "unpacks to" in refusal(make_zip(files), limits)


def test_refuses_ten_thousand_files() -> None:
    files = {f"a/{i}.jpg": b"" for i in range(10_000)}
    assert "10000 files" in refusal(make_zip(files))


def test_refuses_too_many_classes_and_too_few_images(small_jpeg) -> None:
    many = {f"c{i}/x.jpg": small_jpeg for i in range(41)}
    assert "41 classes" in refusal(make_zip(many))
    few = {"a/1.jpg": small_jpeg, "a/2.jpg": small_jpeg, "b/1.jpg": small_jpeg}
    assert "Class b has 1 image" in refusal(make_zip(few))


# ------------------------------------------------------------------ settings


def test_the_notes_recipe_freezes_0_96_percent_of_resnet50() -> None:
    fraction = transfer.notes_recipe_fraction(33)
    assert (fraction.frozen, fraction.total) == (225_344, 23_575_649)
    assert round(fraction.percent, 2) == 0.96


def test_step_lr_timeline_of_the_notes_preset() -> None:
    timeline = transfer.lr_timeline(0.001, 7, 0.1, 15)
    assert timeline[:7] == [0.001] * 7
    assert timeline[7] == pytest.approx(0.0001)
    assert timeline[14] == pytest.approx(0.00001)


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        transfer.TransferSettings(model="resnet9000")
    with pytest.raises(ValueError):
        transfer.TransferSettings(lr=0)
    with pytest.raises(ValueError):
        transfer.TransferSettings(epochs=0)


# ------------------------------------------------------------------ training


@pytest.fixture(scope="module")
def people_folder() -> transfer.ImageFolder:
    return transfer.read_image_folder_zip(io.BytesIO(people_vs_nobody_zip()))


@pytest.fixture(scope="module")
def head_run(people_folder) -> transfer.TransferResult:
    torch.set_num_threads(1)
    epochs: list[transfer.EpochResult] = []
    result = transfer.train(
        people_folder, transfer.TransferSettings(epochs=10), on_epoch=epochs.append
    )
    assert result.epochs == epochs
    return result


def test_a_two_class_run_on_held_out_photos_reaches_90_percent(head_run) -> None:
    assert head_run.classes == ["nobody", "people"]
    assert len(head_run.epochs) == 10
    assert head_run.val_accuracy >= 0.9
    assert head_run.epochs[-1].train_loss < head_run.epochs[0].train_loss
    assert [e.lr for e in head_run.epochs][6:8] == pytest.approx([1e-3, 1e-4])
    assert sum(map(sum, head_run.confusion)) == 15  # every validation image once
    assert len(head_run.wrong) == 15 - sum(head_run.confusion[i][i] for i in range(2))
    # Every feature child frozen: only the head (1280 x 2 + 2) learns.
    assert head_run.frozen.total - head_run.frozen.frozen == 1280 * 2 + 2


def test_the_trained_head_predicts_new_photos(head_run, tmp_path) -> None:
    path = tmp_path / "run.pt"
    transfer.save_trained(path, head_run)
    predictor = transfer.load_predictor(path)
    cat = predictor.predict(Image.open(SAMPLES_DIR / "nobody/chelsea.png"))
    assert cat.label == "nobody" and cat.probability > 0.5
    assert [c.label for c in cat.top] == ["nobody", "people"]
    assert sum(c.probability for c in cat.top) == pytest.approx(1.0)


PHOTOS = ("nobody/chelsea.png", "people/grace_hopper.jpg", "people/cyclists.jpg")


@pytest.fixture(scope="module")
def exported(head_run, tmp_path_factory) -> tuple[transfer.Predictor, Path]:
    folder = tmp_path_factory.mktemp("run")
    transfer.save_trained(folder / "trained.pt", head_run)
    transfer.export_onnx(folder / "trained.pt", folder)
    return transfer.load_predictor(folder / "trained.pt"), folder


def test_the_onnx_export_predicts_the_torch_predictors_probabilities(
    exported,
) -> None:
    torch_predictor, folder = exported
    assert sorted(p.name for p in folder.iterdir()) == [
        "predict.npz",
        "predict.onnx",
        "trained.pt",
    ]
    onnx_predictor = transfer_onnx.OnnxPredictor(folder)
    assert onnx_predictor.classes == ["nobody", "people"]
    for name in PHOTOS:
        photo = Image.open(SAMPLES_DIR / name)
        expected = torch_predictor.predict(photo)
        got = onnx_predictor.predict(photo)
        assert [label for label, _p in got.top] == [c.label for c in expected.top]
        assert [p for _label, p in got.top] == pytest.approx(
            [c.probability for c in expected.top], abs=1e-4
        )


def test_the_closed_form_map_is_grad_cam_at_the_last_feature_map(exported) -> None:
    torch_predictor, folder = exported
    photo = Image.open(SAMPLES_DIR / "people/grace_hopper.jpg")
    got = transfer_onnx.OnnxPredictor(folder).predict(photo)
    # Grad-CAM by autograd: mean gradient per channel times the channel, ReLU.
    network = torch_predictor.pipeline
    stages = len(network) - 3
    tensor = transfer._to_tensor(photo, "efficientnet_lite0", 224)[None]
    maps = network[:stages](tensor).detach().requires_grad_(True)
    logits = network[stages:](maps)[0]
    logits[int(logits.argmax())].backward()
    assert maps.grad is not None
    weights = maps.grad[0].mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * maps[0]).sum(0)).detach().numpy()
    assert got.cam.shape == cam.shape == (7, 7)
    assert np.allclose(got.cam, cam / cam.max(), atol=1e-3)
    assert got.cam.max() == pytest.approx(1.0)


def test_a_damaged_export_is_refused(exported, tmp_path) -> None:
    _torch_predictor, folder = exported
    for name in ("predict.npz", "trained.pt"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "predict.onnx").write_bytes((folder / "predict.onnx").read_bytes()[:-8])
    with pytest.raises(transfer_onnx.ExportMissing, match="not the one recorded"):
        transfer_onnx.OnnxPredictor(tmp_path)
    (tmp_path / "predict.npz").unlink()
    with pytest.raises(transfer_onnx.ExportMissing, match="no readable"):
        transfer_onnx.OnnxPredictor(tmp_path)


def test_fine_tuning_the_last_children_changes_only_them(people_folder) -> None:
    settings = transfer.TransferSettings(
        model="mobilenet_v2", freeze=17, epochs=1, augment=False, image_size=96
    )
    result = transfer.train(people_folder, settings)
    keys = {key.split(".")[0] for key in result.trained_state}
    assert keys == {"17", "18", "21"}  # features.17, features.18 and the classifier
    assert 0 < result.frozen.percent < 100


def test_should_stop_ends_the_run(people_folder) -> None:
    with pytest.raises(transfer.Stopped):
        transfer.train(
            people_folder, transfer.TransferSettings(epochs=2), should_stop=lambda: True
        )


# ------------------------------------------------------------------ code


def test_the_generated_code_runs_and_prints_a_val_accuracy(tmp_path, small_jpeg):
    for split in ("train", "val"):
        for cls in ("cats", "plain"):
            folder = tmp_path / "data" / split / cls
            folder.mkdir(parents=True)
            for i in range(2):
                (folder / f"{i}.jpg").write_bytes(small_jpeg)
    settings = transfer.TransferSettings(freeze=7, epochs=1, image_size=64)
    code = transfer.pytorch_code(settings, ["cats", "plain"])
    assert "filter(lambda p: p.requires_grad, model.parameters())" in code
    assert "optimizer, step_size=7, gamma=0.1" in code
    assert "if ct < 7:" in code
    script = tmp_path / "train.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 1: val_loss" in result.stdout and "val_accuracy" in result.stdout
