"""Convolution step by step (lesson 1): the notes' 5x5 example and the three-channel
example with a bias, cell by cell, against torch.nn.functional.conv2d."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from django.test import Client

from demos.ml import playgrounds
from demos.ml.playgrounds import InvalidKernel, conv_steps

URL = "/api/v1/playgrounds/conv-steps/"


def torch_conv(image: np.ndarray, kernels: np.ndarray, bias: int) -> np.ndarray:
    x = torch.tensor(image, dtype=torch.float64)[None]
    w = torch.tensor(kernels, dtype=torch.float64)[None]
    return F.conv2d(x, w, bias=torch.tensor([float(bias)], dtype=torch.float64))[0, 0]


def test_the_notes_example_gives_the_notes_feature_map() -> None:
    out, steps = conv_steps(playgrounds.STEP_INPUT, playgrounds.STEP_KERNEL)
    assert out.tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]
    expected = torch_conv(
        playgrounds.STEP_INPUT[None], playgrounds.STEP_KERNEL[None], bias=0
    )
    assert np.array_equal(out, expected.numpy())
    assert len(steps) == 9
    first = steps[0]
    assert (first.row, first.col) == (0, 0)
    # 1*1 + 1*0 + 1*1 + 0*0 + 1*1 + 1*0 + 0*1 + 0*0 + 1*1 = 4
    assert first.products == [[1, 0, 1, 0, 1, 0, 0, 0, 1]]
    assert first.channel_sums == [4] and first.total == 4


def test_three_channels_and_a_bias_match_conv2d_cell_by_cell() -> None:
    image, kernels = playgrounds.STEP_RGB_INPUT, playgrounds.STEP_RGB_KERNELS
    bias = playgrounds.STEP_RGB_BIAS
    out, steps = conv_steps(image, kernels, bias)
    expected = torch_conv(image, kernels, bias).numpy()
    assert np.array_equal(out, expected)
    for step in steps:
        assert sum(step.channel_sums) + bias == step.total == out[step.row, step.col]
        for c in range(3):
            window = image[c, step.row : step.row + 3, step.col : step.col + 3]
            assert step.products[c] == (window * kernels[c]).ravel().tolist()
    assert len({v for v in out.ravel()}) > 3 and out.min() < 0  # signs matter


def test_kernels_must_match_the_channels() -> None:
    with pytest.raises(InvalidKernel):
        conv_steps(playgrounds.STEP_RGB_INPUT, playgrounds.STEP_KERNEL[None])


@pytest.mark.parametrize("example", ["single", "rgb"])
def test_the_api_hands_the_page_every_number(client: Client, example: str) -> None:
    response = client.get(URL, {"example": example})
    assert response.status_code == 200
    body = response.json()
    expected = torch_conv(
        np.array(body["input"]), np.array(body["kernels"]), body["bias"]
    )
    assert body["output"] == expected.numpy().astype(int).tolist()
    assert len(body["steps"]) == 9
    assert len(body["input"]) == (3 if example == "rgb" else 1)
    assert body["bias"] == (1 if example == "rgb" else 0)


def test_an_unknown_example_is_a_400(client: Client) -> None:
    assert client.get(URL, {"example": "video"}).status_code == 400


# --- The kernel playground: saturation, errors in the page language ---------------

KERNEL_URL = "/api/v1/playgrounds/kernel/"


def test_nine_ones_saturate_and_the_answer_says_how_much(client: Client) -> None:
    ones = client.post(KERNEL_URL, {"sample": "cat", "kernel": "1 1 1\n1 1 1\n1 1 1"})
    blur = client.post(KERNEL_URL, {"sample": "cat", "preset": "box-blur"})
    assert ones.status_code == blur.status_code == 200
    assert ones.json()["kernel_sum"] == 9
    assert ones.json()["saturated_share"] > 0.5  # most of the photo turns white
    assert blur.json()["saturated_share"] == 0


def test_abs_mode_counts_saturation_on_the_magnitude(client: Client) -> None:
    fields = {"sample": "cat", "kernel": "-9 0 9; -9 0 9; -9 0 9", "grey": "true"}
    clipped = client.post(KERNEL_URL, {**fields, "mode": "clip"}).json()
    magnitude = client.post(KERNEL_URL, {**fields, "mode": "abs"}).json()
    assert magnitude["saturated_share"] > clipped["saturated_share"] > 0


@pytest.mark.parametrize(
    ("kernel", "korean"),
    [
        ("1 2 3; 4 5", "정사각형"),
        ("1 2; 3 4", "홀수"),
        ("1 x 3; 1 2 3; 1 2 3", "숫자만"),
    ],
)
def test_a_bad_kernel_is_explained_in_korean(
    client: Client, kernel: str, korean: str
) -> None:
    response = client.post(
        KERNEL_URL, {"sample": "cat", "kernel": kernel}, HTTP_ACCEPT_LANGUAGE="ko"
    )
    assert response.status_code == 400
    assert korean in str(response.json())
    assert "kernel" not in str(response.json()["detail"]).lower()
