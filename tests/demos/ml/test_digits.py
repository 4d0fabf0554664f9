"""The committed digits CNN: recorded accuracy, loading, and reading drawn digits."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command

from demos.ml import digits as digits_model
from demos.ml import digits_numpy
from demos.ml.digits import (
    CNN_META,
    CNN_WEIGHTS,
    DigitsCNN,
    NoDigitFound,
    digits_to_tensor,
    load_digits_split,
    prepare_drawn_digit,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def data() -> digits_model.DigitsData:
    return load_digits_split()


@pytest.fixture(scope="module")
def model() -> DigitsCNN:
    return digits_model.load_state(DigitsCNN(), CNN_WEIGHTS, CNN_META)


def predict(model: DigitsCNN, image: np.ndarray) -> int:
    with torch.inference_mode():
        return int(model(digits_to_tensor(prepare_drawn_digit(image))).argmax())


def blank_pad() -> np.ndarray:
    return np.full((280, 280), 255, dtype=np.uint8)


def test_recorded_test_accuracy_is_at_least_95_percent() -> None:
    meta = json.loads(CNN_META.read_text())
    assert meta["accuracy"] >= 0.95
    assert meta["test_size"] == 360
    for key in ("epochs", "seed", "date", "command", "sha256"):
        assert meta[key] not in ("", None)
    assert meta["command"].startswith("python manage.py train_digits")


def test_committed_weights_are_small_and_match_their_recorded_hash() -> None:
    for weights, meta in [
        (CNN_WEIGHTS, CNN_META),
        (digits_model.AUTOENCODER_WEIGHTS, digits_model.AUTOENCODER_META),
    ]:
        assert weights.stat().st_size < 1_000_000
        recorded = json.loads(meta.read_text())["sha256"]
        assert digits_model.sha256_of(weights) == recorded
    assert digits_model.TSNE_FILE.stat().st_size < 1_000_000


def test_committed_weights_classify_the_test_set(
    model: DigitsCNN, data: digits_model.DigitsData
) -> None:
    accuracy = digits_model.evaluate_cnn(model, data.test_images, data.test_labels)
    assert accuracy >= 0.95
    assert accuracy == pytest.approx(
        json.loads(CNN_META.read_text())["accuracy"], abs=1e-3
    )


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_big_off_centre_test_digits_are_read_in_both_polarities(
    model: DigitsCNN, data: digits_model.DigitsData, dark_on_light: bool
) -> None:
    for digit in range(10):
        index = int(np.flatnonzero(data.test_labels == digit)[0])
        big = cv2.resize(
            data.test_images[index] / 16, (160, 160), interpolation=cv2.INTER_LINEAR
        )
        canvas = np.zeros((280, 280), np.float32)
        canvas[110:270, 110:270] = big  # bottom-right corner
        ink = (np.clip(canvas, 0, 1) * 255).astype(np.uint8)
        image = 255 - ink if dark_on_light else ink
        assert predict(model, image) == digit, f"test digit #{index}"


STROKES = {
    0: lambda c, w: cv2.ellipse(c, (150, 150), (70, 110), 0, 0, 360, 0, w),
    1: lambda c, w: cv2.line(c, (200, 40), (190, 250), 0, w),
    4: lambda c, w: (
        cv2.line(c, (170, 30), (40, 180), 0, w),
        cv2.line(c, (40, 180), (230, 180), 0, w),
        cv2.line(c, (170, 30), (170, 270), 0, w),
    ),
    7: lambda c, w: (
        cv2.line(c, (60, 50), (230, 50), 0, w),
        cv2.line(c, (230, 50), (120, 260), 0, w),
    ),
}


@pytest.mark.parametrize("pen", [10, 30])
@pytest.mark.parametrize("digit", sorted(STROKES))
def test_digits_drawn_with_thin_or_thick_pens_are_read(
    model: DigitsCNN, digit: int, pen: int
) -> None:
    pad = blank_pad()
    STROKES[digit](pad, pen)
    assert predict(model, pad) == digit
    assert predict(model, 255 - pad) == digit
    rgb = np.repeat(pad[:, :, None], 3, axis=2)
    assert predict(model, rgb) == digit


def test_a_drawing_becomes_an_8x8_digit_scaled_like_the_data_set() -> None:
    pad = blank_pad()
    STROKES[1](pad, 20)
    pixels = prepare_drawn_digit(pad)
    assert pixels.shape == (8, 8)
    assert pixels.min() >= 0 and pixels.max() <= 16
    # Like every digit of the data set, it spans the full height.
    assert pixels[0].max() > 0 and pixels[-1].max() > 0


def test_a_blank_drawing_is_refused() -> None:
    with pytest.raises(NoDigitFound):
        prepare_drawn_digit(blank_pad())


def test_train_command_writes_weights_and_metadata(tmp_path: Path) -> None:
    call_command(
        "train_digits",
        epochs=6,
        autoencoder_epochs=2,
        no_tsne=True,
        out=tmp_path,
        verbosity=0,
    )
    meta = json.loads((tmp_path / "digits_cnn.json").read_text())
    assert meta["epochs"] == 6 and meta["seed"] == 0
    assert meta["accuracy"] >= 0.95
    assert meta["sha256"] == digits_model.sha256_of(tmp_path / "digits_cnn.pth")
    assert (tmp_path / "digits_autoencoder.pth").exists()
    loaded = digits_model.load_state(
        DigitsCNN(), tmp_path / "digits_cnn.pth", tmp_path / "digits_cnn.json"
    )
    assert isinstance(loaded, DigitsCNN)
    # The web worker's copy: the same arrays, hash-checked, without torch.
    arrays = digits_numpy.load_arrays(
        tmp_path / "digits_cnn.npz", tmp_path / "digits_cnn.json"
    )
    for name, tensor in loaded.state_dict().items():
        if tensor.is_floating_point():
            assert np.array_equal(arrays[name], tensor.numpy()), name


def test_train_command_fails_when_accuracy_is_below_95_percent(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Below the required 95%"):
        call_command(
            "train_digits",
            epochs=1,
            autoencoder_epochs=1,
            no_tsne=True,
            out=tmp_path,
            verbosity=0,
        )
