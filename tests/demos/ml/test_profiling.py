"""demos/architectures/profiles.py: parameter and MAC counts match torchvision."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from demos.ml.freezing import (
    TRANSFER_CASES,
    TRANSFER_STRATEGIES,
    UnknownStrategy,
    make_transfer_model,
    transfer_learning_counts,
)
from demos.ml.profiling import (
    ARCHITECTURES,
    LeNet5,
    UnknownArchitecture,
    architecture_summary,
    build_model,
    profile_model,
    published_stats,
)
from demos.ml.residual_blocks import compare_residual_blocks
from portal.lib.errors import BadInput

# torchvision's published num_params (weights metadata), copied from its docs.
PUBLISHED_PARAMS = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "vgg16": 138_357_544,
    "alexnet": 61_100_840,
    "googlenet": 6_624_904,
}
RESNET50_PARAMS = 25_557_032
RESNET50_HEAD_1000 = 2048 * 1000 + 1000
HEAD_33 = 2048 * 33 + 33


@pytest.fixture(scope="session")
def models_by_key() -> dict[str, nn.Module]:
    """Every architecture built once per session (meta device: no memory)."""
    return {key: build_model(key) for key in ARCHITECTURES}


@pytest.mark.parametrize("key", sorted(PUBLISHED_PARAMS))
def test_parameter_count_equals_torchvisions_published_number(
    key: str, models_by_key: dict[str, nn.Module]
) -> None:
    summary = architecture_summary(key)
    counted = sum(p.numel() for p in models_by_key[key].parameters())
    assert summary.profile.total_params == counted == PUBLISHED_PARAMS[key]
    assert summary.published_params == PUBLISHED_PARAMS[key]
    assert summary.params_match_published is True


@pytest.mark.parametrize("key", sorted(PUBLISHED_PARAMS))
def test_macs_match_torchvisions_ops_metadata(key: str) -> None:
    summary = architecture_summary(key)
    _, published_gmacs = published_stats(key)
    # torchvision rounds _ops to three decimals (or four significant digits).
    assert summary.profile.gmacs == pytest.approx(published_gmacs, rel=2e-3)
    assert summary.profile.gflops == pytest.approx(2 * summary.profile.gmacs)


def test_resnet50_needs_about_4_09_giga_multiply_adds() -> None:
    profile = architecture_summary("resnet50").profile
    assert profile.gmacs == pytest.approx(4.089, abs=0.001)
    assert round(profile.gflops, 2) == 8.18


def test_lenet5_has_61706_parameters_and_the_classic_shapes() -> None:
    profile = architecture_summary("lenet5").profile
    shapes = {row.name: row.output_shape for row in profile.layers}
    assert profile.total_params == 61_706
    assert profile.input_shape == (1, 32, 32)
    assert shapes["conv1"] == (6, 28, 28)
    assert shapes["pool2"] == (16, 5, 5)
    assert shapes["fc3"] == (10,)
    # conv1: 6*28*28 outputs x 25 MACs each.
    assert next(r for r in profile.layers if r.name == "conv1").macs == 6 * 28 * 28 * 25


def test_counts_are_the_same_on_a_real_cpu_model_as_on_the_meta_device() -> None:
    on_cpu = profile_model(LeNet5(), (1, 32, 32))
    on_meta = architecture_summary("lenet5").profile
    assert (on_cpu.total_params, on_cpu.macs) == (on_meta.total_params, on_meta.macs)
    assert on_cpu.layers == on_meta.layers


def test_layer_table_rows_add_up_to_the_totals() -> None:
    profile = architecture_summary("resnet50").profile
    names = [row.name for row in profile.layers]
    assert names == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "fc",
    ]
    assert sum(row.params for row in profile.layers) == profile.total_params
    assert sum(row.macs for row in profile.layers) == profile.macs
    layer4 = profile.layers[names.index("layer4")]
    assert layer4.output_shape == (2048, 7, 7)
    assert [block.kind for block in layer4.children] == ["Bottleneck"] * 3
    assert "layer4.0.conv2" in [row.name for row in layer4.children[0].children]


def test_vgg16_features_are_summarised_as_five_stages_ending_in_max_pooling() -> None:
    features = architecture_summary("vgg16").profile.layers[0]
    assert [stage.kind for stage in features.children] == ["Stage"] * 5
    assert [stage.output_shape for stage in features.children] == [
        (64, 112, 112),
        (128, 56, 56),
        (256, 28, 28),
        (512, 14, 14),
        (512, 7, 7),
    ]
    assert all(s.children[-1].kind == "MaxPool2d" for s in features.children)
    assert features.children[0].name == "features.0-4"


def test_profiling_leaves_no_hook_behind(models_by_key: dict[str, nn.Module]) -> None:
    model = models_by_key["googlenet"]
    profile_model(model, (3, 224, 224))
    assert all(not m._forward_hooks for m in model.modules())


def test_hooks_are_removed_even_when_the_forward_pass_fails() -> None:
    model = LeNet5()
    with pytest.raises(RuntimeError):
        profile_model(model, (3, 32, 32))  # LeNet-5 takes one channel
    assert all(not m._forward_hooks for m in model.modules())


def test_unknown_architecture_is_refused() -> None:
    with pytest.raises(UnknownArchitecture):
        architecture_summary("inception-v9")


def test_bottleneck_needs_17_times_fewer_parameters_than_a_basic_block() -> None:
    blocks = compare_residual_blocks(256, 56)
    bn = 2  # weight and bias per channel
    assert blocks.basic.params == 2 * (3 * 3 * 256 * 256) + 2 * bn * 256
    assert blocks.bottleneck.params == (
        256 * 64 + 3 * 3 * 64 * 64 + 64 * 256 + bn * (64 + 64 + 256)
    )
    assert (blocks.basic.params, blocks.bottleneck.params) == (1_180_672, 70_400)
    assert round(blocks.params_ratio) == 17
    assert blocks.bottleneck.macs == 56 * 56 * (256 * 64 + 9 * 64 * 64 + 64 * 256)


def test_feature_extractor_trains_only_the_new_33_class_head() -> None:
    counts = transfer_learning_counts("feature-extractor")
    assert counts.trainable == 2048 * 33 + 33
    assert counts.frozen == RESNET50_PARAMS - RESNET50_HEAD_1000
    assert counts.trainable_blocks == ("fc",)


def test_fine_tuning_the_last_stage_trains_layer4_and_the_head() -> None:
    counts = transfer_learning_counts("fine-tune-last-stage")
    layer4 = next(
        row.params
        for row in architecture_summary("resnet50").profile.layers
        if row.name == "layer4"
    )
    assert counts.trainable == layer4 + HEAD_33 == 15_032_353
    assert counts.trainable_blocks == ("layer4", "fc")


def test_fine_tuning_everything_freezes_nothing() -> None:
    counts = transfer_learning_counts("fine-tune-all")
    assert counts.frozen == 0
    assert counts.trainable == RESNET50_PARAMS - RESNET50_HEAD_1000 + HEAD_33


def test_every_strategy_counts_the_same_model() -> None:
    totals = {transfer_learning_counts(s).total for s in TRANSFER_STRATEGIES}
    assert totals == {RESNET50_PARAMS - RESNET50_HEAD_1000 + HEAD_33}


def test_strategy_names_may_be_written_with_spaces() -> None:
    assert transfer_learning_counts("fine-tune last stage").strategy == (
        "fine-tune-last-stage"
    )


def test_unknown_strategy_is_bad_input() -> None:
    with pytest.raises(UnknownStrategy) as caught:
        make_transfer_model("train-from-scratch")
    assert isinstance(caught.value, BadInput)
    assert "feature-extractor" in str(caught.value)


def test_feature_extractor_model_has_a_33_class_head_and_a_frozen_backbone() -> None:
    model = make_transfer_model("feature-extractor")
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert "layer4.2.conv3.weight" in frozen
    assert "fc.weight" not in frozen
    assert model.fc.out_features == 33
    assert model.fc.weight.device == torch.device("meta")


def test_the_four_cases_cover_every_size_and_similarity() -> None:
    cells = {(case.size, case.similarity): case.strategy for case in TRANSFER_CASES}
    assert cells == {
        ("small", "similar"): "feature-extractor",
        ("small", "different"): "feature-extractor",
        ("large", "similar"): "fine-tune-all",
        ("large", "different"): "fine-tune-all",
    }
