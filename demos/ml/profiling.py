"""Classic CNN architectures measured on this server: layers, parameters, MACs.

Pure module (torch/torchvision, never ``django``). Models are built from the
torchvision definitions with ``weights=None`` on PyTorch's ``meta`` device: every
tensor has a shape but no storage, so VGG16's 138 M parameters cost no memory and a
"forward pass" only propagates shapes. These are architecture tables, not loaded
models: no weights, nothing from ``models_store``. Forward hooks (the site's one hook
manager, ``demos.ml.feature_maps.forward_hooks``, which always removes them) record
each module's output shape and, for ``Conv2d``/``Linear``, the multiply-accumulate
count.

torch and torchvision are imported by the functions that build models (``LeNet5``
is made on first access), so the URLconf can import this table for free.

Conventions
-----------
* A MAC is one multiply-add. Only ``Conv2d`` and ``Linear`` weights are counted
  (batch norm, ReLU, pooling and additions are under 1 % and ignored), per image.
  Conv: ``out_elements * (in_channels / groups) * kh * kw``; linear:
  ``out_elements * in_features``.
* torchvision's weight metadata ``_ops`` (shown as "GFLOPS" in its docs) was computed
  in pytorch/vision#6936 with a dispatch-based counter that counts one multiply-add
  as one operation, i.e. it is **GMACs**: ResNet50's ``_ops`` is 4.089, our count is
  4.089 G MACs.
* We report ``GFLOPs = 2 x GMACs`` (a multiply and an add are two floating-point
  operations), the convention of most papers since ~2018 and of model zoos such as
  OpenVINO's (ResNet50: 8.2 GFLOPs). Read a published table's footnote before comparing.

Everything is computed lazily and cached per process (``functools.cache``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from demos.ml.feature_maps import TRACING, forward_hooks

if TYPE_CHECKING:
    import torch
    from torch import nn

# Rows nested deeper than this are summed into their parent (a ResNet50 conv inside a
# bottleneck inside a stage is depth 3; deeper is noise for a lesson table).
MAX_TABLE_DEPTH = 3


def _pool_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.MaxPool2d, nn.AvgPool2d)


class UnknownArchitecture(LookupError):
    """No architecture with that key (the web layer answers 404)."""


@cache
def _lenet5_class() -> type:
    from torch import nn

    class LeNet5(nn.Module):
        """LeNet-5 (LeCun et al., 1998) in its common modern form.

        Input ``(N, 1, 32, 32)``; tanh activations and 2x2 average pooling (the
        paper's trainable sub-sampling and partial C3 connections are simplified
        away). 61,706 parameters.
        """

        def __init__(self, num_classes: int = 10) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, kernel_size=5)
            self.act1 = nn.Tanh()
            self.pool1 = nn.AvgPool2d(2)
            self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
            self.act2 = nn.Tanh()
            self.pool2 = nn.AvgPool2d(2)
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.act3 = nn.Tanh()
            self.fc2 = nn.Linear(120, 84)
            self.act4 = nn.Tanh()
            self.fc3 = nn.Linear(84, num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            for module in self.children():
                x = module(x)
            return x

    LeNet5.__module__ = __name__
    return LeNet5


def __getattr__(name: str) -> Any:
    # ``from demos.ml.profiling import LeNet5`` builds the class (and
    # imports torch) only when asked for.
    if name == "LeNet5":
        return _lenet5_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _lenet5() -> nn.Module:
    return _lenet5_class()()


def _torchvision(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        from torchvision import models as tv_models

        return getattr(tv_models, name)(weights=None, **kwargs)

    return build


@dataclass(frozen=True)
class ArchitectureSpec:
    """How to build one architecture and what torchvision publishes about it."""

    key: str
    name: str
    year: int
    input_shape: tuple[int, int, int]
    builder: Callable[[], nn.Module] = field(repr=False)
    # torchvision builder name whose weights metadata we compare against (None: ours).
    torchvision_name: str | None = None


ARCHITECTURES: dict[str, ArchitectureSpec] = {
    spec.key: spec
    for spec in (
        ArchitectureSpec("lenet5", "LeNet-5", 1998, (1, 32, 32), _lenet5),
        ArchitectureSpec(
            "alexnet",
            "AlexNet",
            2012,
            (3, 224, 224),
            _torchvision("alexnet"),
            "alexnet",
        ),
        ArchitectureSpec(
            "vgg16",
            "VGG16",
            2014,
            (3, 224, 224),
            _torchvision("vgg16"),
            "vgg16",
        ),
        ArchitectureSpec(
            "googlenet",
            "GoogLeNet",
            2014,
            (3, 224, 224),
            # No auxiliary heads (inference-time model) and no scipy-based init.
            _torchvision("googlenet", aux_logits=False, init_weights=False),
            "googlenet",
        ),
        ArchitectureSpec(
            "resnet18",
            "ResNet18",
            2015,
            (3, 224, 224),
            _torchvision("resnet18"),
            "resnet18",
        ),
        ArchitectureSpec(
            "resnet50",
            "ResNet50",
            2015,
            (3, 224, 224),
            _torchvision("resnet50"),
            "resnet50",
        ),
    )
}


@dataclass(frozen=True)
class LayerRow:
    """One row of a layer table.

    ``name`` is the module's dotted path (``"layer1.0.conv2"``) or, for a synthetic
    stage of a flat ``Sequential``, ``"features.0-4"``. ``output_shape`` is per image,
    without the batch dimension (``(C, H, W)`` or ``(features,)``); ``params`` and
    ``macs`` include every descendant.
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    children: tuple[LayerRow, ...] = ()

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "type": self.kind,
            "output_shape": list(self.output_shape),
            "params": self.params,
            "macs": self.macs,
            "children": [child.as_dict() for child in self.children],
        }


@dataclass(frozen=True)
class ModelProfile:
    """Totals and the layer table of one model for one input shape (per image)."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    macs: int
    layers: tuple[LayerRow, ...]

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def gflops(self) -> float:
        # FLOPs = 2 x MACs (a multiply and an add).
        return 2 * self.macs / 1e9


@dataclass(frozen=True)
class ArchitectureSummary:
    """A profiled architecture next to the numbers torchvision publishes."""

    key: str
    name: str
    year: int
    profile: ModelProfile
    published_params: int | None
    published_gmacs: float | None

    @property
    def params_match_published(self) -> bool | None:
        if self.published_params is None:
            return None
        return self.published_params == self.profile.total_params

    def as_dict(self, *, with_layers: bool = True) -> dict:
        data = {
            "key": self.key,
            "name": self.name,
            "year": self.year,
            "input_shape": list(self.profile.input_shape),
            "output_shape": list(self.profile.output_shape),
            "params": self.profile.total_params,
            "macs": self.profile.macs,
            "gmacs": round(self.profile.gmacs, 3),
            "gflops": round(self.profile.gflops, 3),
            "published_params": self.published_params,
            "published_gmacs": self.published_gmacs,
            "params_match_published": self.params_match_published,
        }
        if with_layers:
            data["layers"] = [row.as_dict() for row in self.profile.layers]
        return data


@dataclass
class ForwardRecord:
    """What the hooks saw: last output shape and summed MACs per module name."""

    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)


def _macs_of(module: nn.Module, output: torch.Tensor) -> int:
    from torch import nn

    per_image = output[0].numel()
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_image * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    return 0


@contextmanager
def recording_forward(model: nn.Module) -> Iterator[ForwardRecord]:
    """Hook every module of ``model`` while the block runs; hooks always removed.

    A module called several times (ResNet's shared ``relu``) keeps its last output
    shape and the sum of its MACs.
    """
    import torch
    from torch import nn

    record = ForwardRecord()

    def on_output(name: str, module: nn.Module, output: object) -> None:
        if not isinstance(output, torch.Tensor):
            return
        record.shapes[name] = tuple(output.shape[1:])
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            record.macs[name] = record.macs.get(name, 0) + _macs_of(module, output)

    with forward_hooks(model, on_output=on_output):
        yield record


def _device_of(model: nn.Module) -> torch.device:
    import torch

    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _subtree_macs(record: ForwardRecord, name: str) -> int:
    prefix = f"{name}." if name else ""
    return sum(
        macs
        for key, macs in record.macs.items()
        if key == name or key.startswith(prefix)
    )


def _is_flat_staged(module: nn.Module) -> bool:
    """A flat ``Sequential`` with 2+ pools (VGG/AlexNet ``features``) → show stages."""
    from torch import nn

    pools = _pool_types()
    children = list(module.children())
    return (
        isinstance(module, nn.Sequential)
        and all(not list(child.children()) for child in children)
        and sum(isinstance(child, pools) for child in children) >= 2
    )


def _rows(
    module: nn.Module, prefix: str, record: ForwardRecord, depth: int
) -> tuple[LayerRow, ...]:
    if depth > MAX_TABLE_DEPTH:
        return ()
    if _is_flat_staged(module):
        return _stage_rows(module, prefix, record, depth)
    rows = []
    for child_name, child in module.named_children():
        name = f"{prefix}.{child_name}" if prefix else child_name
        if name not in record.shapes:  # never called in forward (e.g. aux heads)
            continue
        rows.append(
            LayerRow(
                name=name,
                kind=type(child).__name__,
                output_shape=record.shapes[name],
                params=_params(child),
                macs=_subtree_macs(record, name),
                children=_rows(child, name, record, depth + 1),
            )
        )
    return tuple(rows)


def _stage_rows(
    module: nn.Module, prefix: str, record: ForwardRecord, depth: int
) -> tuple[LayerRow, ...]:
    """Group a flat Sequential into stages that each end with a pooling layer."""
    pools = _pool_types()
    stages: list[list[tuple[str, nn.Module]]] = [[]]
    for child_name, child in module.named_children():
        stages[-1].append((child_name, child))
        if isinstance(child, pools):
            stages.append([])
    rows = []
    for stage in filter(None, stages):
        leaves = tuple(
            LayerRow(
                name=f"{prefix}.{child_name}",
                kind=type(child).__name__,
                output_shape=record.shapes[f"{prefix}.{child_name}"],
                params=_params(child),
                macs=record.macs.get(f"{prefix}.{child_name}", 0),
            )
            for child_name, child in stage
        )
        first, last = stage[0][0], stage[-1][0]
        rows.append(
            LayerRow(
                name=f"{prefix}.{first}-{last}" if first != last else leaves[0].name,
                kind="Stage",
                output_shape=leaves[-1].output_shape,
                params=sum(leaf.params for leaf in leaves),
                macs=sum(leaf.macs for leaf in leaves),
                children=leaves,
            )
        )
    return tuple(rows)


def profile_model(model: nn.Module, input_shape: tuple[int, ...]) -> ModelProfile:
    """Run one image of ``input_shape`` (C, H, W) through ``model`` and measure it.

    Works on real (cpu) and ``meta`` models alike; the model is not modified and
    no hook survives the call. Returns per-image totals and the layer table.
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        with TRACING, recording_forward(model) as record, torch.inference_mode():
            output = model(torch.zeros(1, *input_shape, device=_device_of(model)))
    finally:
        model.train(was_training)
    return ModelProfile(
        input_shape=tuple(input_shape),
        output_shape=tuple(output.shape[1:]),
        total_params=_params(model),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        macs=sum(record.macs.values()),
        layers=_rows(model, "", record, 1),
    )


def build_model(key: str, *, device: str = "meta") -> nn.Module:
    """A fresh, untrained model in eval mode; ``device="meta"`` allocates nothing."""
    try:
        spec = ARCHITECTURES[key]
    except KeyError:
        raise UnknownArchitecture(key) from None
    import torch

    with torch.device(device):
        model = spec.builder()
    return model.eval()


def published_stats(key: str) -> tuple[int | None, float | None]:
    """torchvision's ``num_params`` and ``_ops`` (GMACs) for ``key``; no download."""
    spec = ARCHITECTURES[key]
    if spec.torchvision_name is None:
        return None, None
    from torchvision import models as tv_models

    meta = tv_models.get_model_weights(spec.torchvision_name).DEFAULT.meta
    return meta.get("num_params"), meta.get("_ops")


def architecture_summary(key: str) -> ArchitectureSummary:
    """The profiled architecture ``key``, computed on first use and kept per process."""
    if key not in ARCHITECTURES:
        raise UnknownArchitecture(key)
    return _summary(key)


@cache
def _summary(key: str) -> ArchitectureSummary:
    spec = ARCHITECTURES[key]
    published_params, published_gmacs = published_stats(key)
    return ArchitectureSummary(
        key=spec.key,
        name=spec.name,
        year=spec.year,
        profile=profile_model(build_model(key), spec.input_shape),
        published_params=published_params,
        published_gmacs=published_gmacs,
    )


def all_architecture_summaries() -> list[ArchitectureSummary]:
    """Every architecture in course order (LeNet-5 first)."""
    return [architecture_summary(key) for key in ARCHITECTURES]
