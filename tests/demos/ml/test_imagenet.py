"""EfficientNet-Lite0 from the installed wheel: keys, hash, real photos, Grad-CAM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from demos.ml import imagenet
from tests.conftest import SAMPLES_DIR


@pytest.fixture(scope="module")
def model() -> imagenet.EfficientNetLite0:
    return imagenet.build_model()


def photo(name: str) -> Image.Image:
    return Image.open(SAMPLES_DIR / name).convert("RGB")


def names(predictions: list[imagenet.Prediction]) -> list[str]:
    return [p.name for p in predictions]


def test_weights_come_from_the_installed_wheel_with_the_published_hash() -> None:
    path = imagenet.weights_path()
    assert path.name == "efficientnet-lite0-57934424.pth"
    assert imagenet.sha256_of(path) == imagenet.WEIGHTS_SHA256


def test_every_key_of_the_wheel_lands_on_the_architecture() -> None:
    raw = torch.load(imagenet.weights_path(), map_location="cpu", weights_only=True)
    remapped = imagenet.remap_lukemelas_keys(raw)
    expected = imagenet.EfficientNetLite0().state_dict()
    assert set(remapped) == set(expected)
    assert all(remapped[k].shape == expected[k].shape for k in expected)


def test_remap_refuses_an_unknown_key() -> None:
    with pytest.raises(KeyError):
        imagenet.remap_lukemelas_keys({"_blocks.0._se_reduce.weight": torch.zeros(1)})


def test_matches_the_reference_implementation_of_the_wheel_authors(model) -> None:
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_name("efficientnet-lite0")
    reference.load_state_dict(torch.load(imagenet.weights_path(), weights_only=True))
    reference.eval()
    tensor = imagenet.preprocess(photo("nobody/chelsea.png"))
    with torch.inference_mode():
        assert torch.allclose(model(tensor), reference(tensor), atol=1e-4)


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "lite0.pth"
    copy.write_bytes(imagenet.weights_path().read_bytes() + b"x")
    with pytest.raises(imagenet.ChecksumMismatch, match="SHA-256"):
        imagenet.build_model(copy)


def test_preprocess_squashes_the_whole_photo_and_scales_to_about_plus_minus_one() -> (
    None
):
    tensor = imagenet.preprocess(photo("people/cyclists.jpg"))
    assert tensor.shape == (1, 3, 224, 224)
    assert float(tensor.min()) >= -1.0 and float(tensor.max()) <= 1.0


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("nobody/chelsea.png", {"tabby", "tiger cat", "Egyptian cat"}),
        ("people/cyclists.jpg", {"mountain bike", "bicycle-built-for-two"}),
        ("nobody/plane.jpg", {"airliner"}),
        ("nobody/coffee.png", {"espresso", "cup", "coffee mug"}),
        ("nobody/pen.jpg", {"ballpoint", "fountain pen"}),
    ],
)
def test_top5_names_what_is_in_everyday_photos(model, sample, expected) -> None:
    top5 = imagenet.classify(model, photo(sample))
    assert len(top5) == 5
    assert expected & set(names(top5))
    assert sum(p.probability for p in top5) <= 1.0 + 1e-6
    assert top5 == sorted(top5, key=lambda p: -p.probability)


def test_the_cat_is_first_and_confident(model) -> None:
    first = imagenet.classify(model, photo("nobody/chelsea.png"))[0]
    assert first.name in {"tabby", "tiger cat", "Egyptian cat"}
    assert first.probability > 0.5


def test_grad_cam_of_the_bicycle_lies_on_the_bicycles(model) -> None:
    image = photo("people/cyclists.jpg")
    tensor = imagenet.preprocess(image)
    cam = imagenet.grad_cam(model, tensor, 671)  # mountain bike
    assert cam.shape == (7, 7)
    assert cam.min() >= 0.0 and cam.max() == pytest.approx(1.0)
    full = imagenet.upsample_map(cam, image.height, image.width)
    assert full.shape == (image.height, image.width)
    # The bikes fill the lower part of the photo; the top third is sky and spectators.
    assert full[image.height // 2 :].mean() > full[: image.height // 3].mean()


def test_grad_cam_leaves_the_shared_model_without_gradients_or_hooks(model) -> None:
    tensor = imagenet.preprocess(photo("nobody/chelsea.png"))
    imagenet.grad_cam(model, tensor, 285, stage=5)
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks or m._backward_hooks for m in model.modules())
    assert not model.training


def test_korean_names_only_where_curated() -> None:
    assert imagenet.class_name(285, "ko") == "이집트 고양이"
    assert imagenet.class_name(285, "en") == "Egyptian cat"
    # Not curated: the English name, never a guess.
    assert imagenet.class_name(3, "ko") == "tiger shark"
    assert set(imagenet.KOREAN_NAMES) <= set(range(1000))


def test_upsample_keeps_values_between_zero_and_one() -> None:
    cam = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)
    full = imagenet.upsample_map(cam, 30, 40)
    assert full.shape == (30, 40) and full.min() >= 0.0 and full.max() <= 1.0
