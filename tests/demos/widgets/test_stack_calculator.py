"""Lesson 7's build-a-stack calculator: the arithmetic (demos/ml/stack_calculator.py)
checked against the same stack built in PyTorch, and its two API routes.

The torch side counts parameters with ``numel()``, MACs and output shapes with the
project's own hooks (``demos.ml.profiling.recording_forward``, the counter behind
the architectures table) and the receptive field by back-propagating from one output
pixel: what the page shows must be what PyTorch does.
"""

from __future__ import annotations

import json

import pytest
import torch
from django.test import Client
from torch import nn

from demos.lessons.services import load_lessons
from demos.ml import stack_calculator as calc
from demos.ml.profiling import recording_forward
from demos.ml.stack_calculator import LayerSpec, calculate_stack

CALCULATE = "/api/v1/stack-calculator/"
PRESETS = "/api/v1/stack-calculator/presets/"


def torch_layer(spec: LayerSpec, c_in: int, device: str) -> nn.Module:
    k, s, p = spec.kernel, spec.stride, spec.padding
    if spec.kind == "conv":
        return nn.Conv2d(
            c_in, spec.out_channels, k, s, p, bias=spec.bias, device=device
        )
    if spec.kind == "separable":
        return nn.Sequential(
            nn.Conv2d(c_in, c_in, k, s, p, groups=c_in, bias=spec.bias, device=device),
            nn.Conv2d(c_in, spec.out_channels, 1, bias=spec.bias, device=device),
        )
    if spec.kind == "maxpool":
        return nn.MaxPool2d(k, s, p)
    return nn.AvgPool2d(k, s, p)


def torch_stack(
    specs: tuple[LayerSpec, ...], channels: int, device: str = "meta"
) -> nn.Sequential:
    layers, c = [], channels
    for spec in specs:
        layers.append(torch_layer(spec, c, device))
        c = spec.out_channels if spec.kind in calc.CONV_KINDS else c
    return nn.Sequential(*layers)


def torch_measure(
    specs: tuple[LayerSpec, ...], shape: tuple[int, int, int]
) -> list[tuple[tuple[int, ...], int, int]]:
    """(output shape, parameters, MACs) of every layer, as PyTorch sees them."""
    model = torch_stack(specs, shape[0])
    with recording_forward(model) as record, torch.inference_mode():
        model(torch.zeros(1, *shape, device="meta"))
    rows = []
    for index, layer in enumerate(model):
        name = str(index)
        macs = sum(
            value
            for key, value in record.macs.items()
            if key == name or key.startswith(f"{name}.")
        )
        params = sum(p.numel() for p in layer.parameters())
        rows.append((record.shapes[name], params, macs))
    return rows


def torch_field(specs: tuple[LayerSpec, ...], size: int = 64) -> int:
    """Rows of the input that the centre output pixel depends on (gradient != 0).

    Weights are all positive and max pooling is read as average pooling (same
    window), so no contribution cancels out; the input is large enough that the
    centre pixel's field is not clipped by the border.
    """
    averaged = tuple(
        LayerSpec("avgpool", s.kernel, s.stride, s.padding)
        if s.kind == "maxpool"
        else s
        for s in specs
    )
    model = torch_stack(averaged, 2, device="cpu").double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(1.0)
    x = torch.ones(1, 2, size, size, dtype=torch.float64, requires_grad=True)
    out = model(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = (x.grad[0].abs().sum(dim=(0, 2)) > 0).nonzero().flatten()
    return int(rows.max() - rows.min() + 1)


EXTRA_STACKS = {
    "strided": (
        (3, 65, 47),
        (
            LayerSpec("conv", 7, 2, 3, 32, False),
            LayerSpec("maxpool", 3, 2, 1),
            LayerSpec("conv", 3, 1, 0, 48, True),
            LayerSpec("avgpool", 3, 1, 1),
            LayerSpec("separable", 5, 2, 2, 24, True),
            LayerSpec("conv", 1, 1, 0, 8, True),
        ),
    ),
    "even-kernels": (
        (5, 31, 31),
        (LayerSpec("conv", 4, 3, 2, 6, True), LayerSpec("maxpool", 2, 2, 1)),
    ),
}
CASES = {
    **{f"{p.key}/stack": (p.input_shape, p.layers) for p in calc.PRESETS},
    **{
        f"{p.key}/reference": (p.input_shape, p.reference)
        for p in calc.PRESETS
        if p.reference
    },
    **EXTRA_STACKS,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_layer_matches_pytorch(case: str) -> None:
    shape, specs = CASES[case]
    result = calculate_stack(shape, specs)
    expected = torch_measure(specs, shape)
    got = [(r.out_shape, r.params, r.macs) for r in result.layers]
    assert got == expected
    model = torch_stack(specs, shape[0])
    assert result.params == sum(p.numel() for p in model.parameters())
    assert result.macs == sum(macs for _, _, macs in expected)
    assert result.output_shape == expected[-1][0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_receptive_field_is_what_the_gradient_reaches(case: str) -> None:
    shape, specs = CASES[case]
    assert calculate_stack(shape, specs).receptive_field == torch_field(specs)


def test_two_3x3_see_what_one_5x5_sees_for_18_instead_of_25_c_squared() -> None:
    preset = calc.PRESETS_BY_KEY["two-3x3-for-one-5x5"]
    c = preset.input_shape[0]
    threes = calculate_stack(preset.input_shape, preset.layers)
    five = calculate_stack(preset.input_shape, preset.reference)
    assert (threes.params, five.params) == (18 * c * c, 25 * c * c) == (73_728, 102_400)
    assert threes.receptive_field == five.receptive_field == 5
    assert threes.output_shape == five.output_shape == (64, 56, 56)
    assert [r.params_formula for r in threes.layers] == ["3×3×64×64"] * 2


def test_the_inception_reduction_saves_about_ten_times() -> None:
    preset = calc.PRESETS_BY_KEY["reduce-before-5x5"]
    reduced = calculate_stack(preset.input_shape, preset.layers)
    direct = calculate_stack(preset.input_shape, preset.reference)
    assert (reduced.params, direct.params) == (15_920, 153_632)
    assert reduced.layers[0].params_formula == "1×1×192×16 + 16"
    assert 9.5 < direct.macs / reduced.macs < 10


def test_the_vgg_block_is_torchvisions_first_block() -> None:
    from torchvision.models import vgg16

    with torch.device("meta"):
        block = vgg16(weights=None).features[:5]
    preset = calc.PRESETS_BY_KEY["vgg-block"]
    result = calculate_stack(preset.input_shape, preset.layers)
    assert result.params == sum(p.numel() for p in block.parameters()) == 38_720
    assert result.output_shape == (64, 112, 112)
    assert result.receptive_field == 6


def test_a_separable_layer_counts_depthwise_and_pointwise() -> None:
    layer = calculate_stack((64, 56, 56), (LayerSpec("separable", 3, 1, 1, 128, True),))
    assert layer.layers[0].params_formula == "3×3×64 + 64 + 64×128 + 128"
    assert layer.params == 9 * 64 + 64 + 64 * 128 + 128


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (
            (LayerSpec("maxpool", 2, 2, 2),),
            "Layer 1: a pooling window of 2×2 takes at most 1",
        ),
        (
            (LayerSpec("conv", 3, 2, 0, 8), LayerSpec("conv", 5, 1, 0, 8)),
            "Layer 2: a 5×5 window does not fit a 3-pixel side with padding 0",
        ),
        ((LayerSpec("conv", 3, 1, 1, None),), "Layer 1: a convolution needs 1 to 4096"),
    ],
)
def test_stacks_pytorch_refuses_are_refused_with_the_layer_named(
    specs: tuple[LayerSpec, ...], message: str
) -> None:
    with pytest.raises(calc.InvalidStack, match=message):
        calculate_stack((3, 8, 8), specs)
    if specs[0].out_channels is not None or specs[0].kind != "conv":
        with pytest.raises(RuntimeError):  # torch refuses the same stack
            torch_stack(specs, 3, device="cpu")(torch.zeros(1, 3, 8, 8))


def test_too_many_layers_are_refused() -> None:
    with pytest.raises(calc.InvalidStack, match="at most 16 layers"):
        calculate_stack((3, 8, 8), [LayerSpec("conv", 1, 1, 0, 3)] * 17)


# --- The API ----------------------------------------------------------------------


def post(client: Client, body: dict, **headers: str):
    return client.post(
        CALCULATE, json.dumps(body), content_type="application/json", **headers
    )


def body_of(key: str) -> dict:
    preset = calc.PRESETS_BY_KEY[key]
    channels, height, width = preset.input_shape
    return {
        "input": {"channels": channels, "height": height, "width": width},
        "layers": [calc.spec_dict(spec) for spec in preset.layers],
        "reference": [calc.spec_dict(spec) for spec in preset.reference],
    }


@pytest.mark.django_db
def test_the_api_measures_a_stack_and_compares_it_with_the_reference(
    client: Client,
) -> None:
    response = post(client, body_of("two-3x3-for-one-5x5"))
    assert response.status_code == 200
    data = response.json()
    assert data["stack"]["params"] == 73_728
    assert data["reference"]["params"] == 102_400
    assert [row["receptive_field"] for row in data["stack"]["layers"]] == [3, 5]
    assert data["stack"]["layers"][0]["out_shape"] == [64, 56, 56]
    assert data["comparison"] == {"params_ratio": 1.39, "macs_ratio": 1.39}


@pytest.mark.django_db
def test_a_logged_in_student_posts_with_the_pages_csrf_token(
    logged_in_client: Client,
) -> None:
    load_lessons()
    logged_in_client.handler.enforce_csrf_checks = True
    assert post(logged_in_client, body_of("vgg-block")).status_code == 403
    page = logged_in_client.get("/lessons/classic-architectures/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else ""
    html = page.content.decode()
    assert 'data-widget="stack-calculator"' in html
    assert "csrfmiddlewaretoken" in html.split('data-widget="stack-calculator"')[1]
    token = token or logged_in_client.cookies["csrftoken"].value
    response = post(logged_in_client, body_of("vgg-block"), HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["stack"]["params"] == 38_720


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b["layers"][1].update(kernel=12), "Layer 2: kernel:"),
        (lambda b: b["layers"][0].update(kind="dense"), "Layer 1: kind:"),
        (lambda b: b["input"].update(height=0), "height:"),
        (lambda b: b.update(extra=1), "Unknown field(s): extra."),
        (
            lambda b: b["layers"].append(calc.spec_dict(LayerSpec("maxpool", 3, 1, 2))),
            "Layer 3: a pooling window of 3×3 takes at most 1 pixels of padding.",
        ),
        (
            lambda b: b["reference"][0].update(kernel=11, padding=0, stride=4),
            "Reference: Layer 1: a 11×11 window",
        ),
        (
            lambda b: b["reference"][0].update(stride=9),
            "Reference: Layer 1: stride: Ensure",
        ),
        (lambda b: b.update(layers=[b["layers"][0]] * 17), "Layers: Ensure"),
    ],
)
def test_bad_stacks_get_one_clear_400(client: Client, change, message: str) -> None:
    body = body_of("two-3x3-for-one-5x5")
    body["input"]["height"] = body["input"]["width"] = 8
    change(body)
    response = post(client, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.django_db
def test_errors_and_presets_speak_korean(client: Client) -> None:
    body = body_of("two-3x3-for-one-5x5")
    body["layers"].append(calc.spec_dict(LayerSpec("maxpool", 3, 1, 2)))
    response = post(client, body, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("3번째 층:") and "패딩" in detail
    presets = client.get(PRESETS, HTTP_ACCEPT_LANGUAGE="ko").json()["presets"]
    assert [p["key"] for p in presets][:1] == ["two-3x3-for-one-5x5"]
    assert "3×3 두 개" in presets[0]["name"]
    assert "18·C²" in presets[0]["note"] and "25·C²" in presets[0]["note"]


@pytest.mark.django_db
def test_presets_hold_stacks_the_calculator_accepts(client: Client) -> None:
    data = client.get(PRESETS).json()
    assert data["max_layers"] == calc.MAX_LAYERS
    for preset in data["presets"]:
        channels, height, width = preset["input_shape"]
        body = {
            "input": {"channels": channels, "height": height, "width": width},
            "layers": preset["layers"],
            "reference": preset["reference"],
        }
        assert post(client, body).status_code == 200, preset["key"]
