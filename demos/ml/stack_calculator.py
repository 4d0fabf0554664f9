"""Build-a-stack arithmetic (lesson 7's calculator): a plain chain of layers, measured.

Pure module (standard library and ``demos.ml.receptive_field``; never Django, never
torch). A stack is an input ``(channels, height, width)`` and a list of
``LayerSpec`` that run one after the other, as an ``nn.Sequential`` would:

* ``conv``: ``nn.Conv2d(c_in, c_out, k, stride, padding, bias=bias)``; a 1 x 1
  conv with fewer output channels is the "1 x 1 reduction" of GoogLeNet/ResNet;
* ``separable``: a depthwise-separable conv (MobileNet): ``nn.Conv2d(c_in, c_in, k,
  stride, padding, groups=c_in, bias=bias)`` then ``nn.Conv2d(c_in, c_out, 1,
  bias=bias)``;
* ``maxpool`` / ``avgpool``: ``nn.MaxPool2d(k, stride, padding)`` /
  ``nn.AvgPool2d(k, stride, padding)`` (no parameters, no MACs counted).

Per layer and in total it gives the output shape (PyTorch's floor rule), the
parameters (weights + biases), the MACs per image (one multiply-add; the
convention of ``demos.ml.profiling``: ``out_elements * (c_in / groups) * k * k``)
and the receptive field of one output pixel (side in input pixels, unclipped:
``1 + sum (k - 1) * jump``, ``demos.ml.receptive_field.field_size``).

Worked example (the VGG argument): on 64 channels at 56 x 56, without biases, one
5 x 5 conv has ``25 * 64 * 64 = 102,400`` parameters, two 3 x 3 convs
``2 * 9 * 64 * 64 = 73,728`` (25 C^2 against 18 C^2), and both see a 5 x 5 field.

``tests/demos/widgets/test_stack_calculator.py`` builds the same stacks in torch
and checks every number against ``numel()`` and the project's MAC hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from demos.ml.receptive_field import Window, field_size
from portal.lib.errors import TranslatedBadInput, gettext_noop

CONV_KINDS = ("conv", "separable")
POOL_KINDS = ("maxpool", "avgpool")
LAYER_KINDS = CONV_KINDS + POOL_KINDS
MAX_LAYERS = 16
MAX_KERNEL = 11
MAX_STRIDE = 4
MAX_PADDING = 5
MAX_CHANNELS = 4096
MAX_SIDE = 1024


class InvalidStack(TranslatedBadInput):
    """A stack that PyTorch would refuse to build or to run (→ 400)."""


@dataclass(frozen=True)
class LayerSpec:
    """One layer as the student set it; ``out_channels`` only for conv kinds."""

    kind: str
    kernel: int
    stride: int = 1
    padding: int = 0
    out_channels: int | None = None
    bias: bool = True


@dataclass(frozen=True)
class LayerResult:
    """One layer measured: shapes are (channels, height, width) of one image."""

    kind: str
    kernel: int
    stride: int
    padding: int
    bias: bool
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    params: int
    macs: int
    receptive_field: int  # side of the field of one output pixel, input pixels
    params_formula: str  # e.g. "3×3×64×64 + 64"

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
            "bias": self.bias,
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "params": self.params,
            "macs": self.macs,
            "receptive_field": self.receptive_field,
            "params_formula": self.params_formula,
        }


@dataclass(frozen=True)
class StackResult:
    input_shape: tuple[int, int, int]
    layers: tuple[LayerResult, ...] = field(default_factory=tuple)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        return self.layers[-1].out_shape if self.layers else self.input_shape

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def receptive_field(self) -> int:
        return self.layers[-1].receptive_field if self.layers else 1

    def as_dict(self) -> dict:
        return {
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "macs": self.macs,
            "receptive_field": self.receptive_field,
            "layers": [layer.as_dict() for layer in self.layers],
        }


def _check_layer(number: int, spec: LayerSpec) -> None:
    if spec.kind not in LAYER_KINDS:
        raise InvalidStack(
            gettext_noop("Layer %(number)s: unknown kind of layer."), number=number
        )
    if not 1 <= spec.kernel <= MAX_KERNEL:
        raise InvalidStack(
            gettext_noop("Layer %(number)s: the kernel must be 1 to %(most)s."),
            number=number,
            most=MAX_KERNEL,
        )
    if not 1 <= spec.stride <= MAX_STRIDE:
        raise InvalidStack(
            gettext_noop("Layer %(number)s: the stride must be 1 to %(most)s."),
            number=number,
            most=MAX_STRIDE,
        )
    if not 0 <= spec.padding <= MAX_PADDING:
        raise InvalidStack(
            gettext_noop("Layer %(number)s: the padding must be 0 to %(most)s."),
            number=number,
            most=MAX_PADDING,
        )
    if spec.kind in POOL_KINDS and spec.padding > spec.kernel // 2:
        # PyTorch: "pad should be at most half of effective kernel size".
        raise InvalidStack(
            gettext_noop(
                "Layer %(number)s: a pooling window of %(kernel)s×%(kernel)s "
                "takes at most %(most)s pixels of padding."
            ),
            number=number,
            kernel=spec.kernel,
            most=spec.kernel // 2,
        )
    if spec.kind in CONV_KINDS and not (
        spec.out_channels is not None and 1 <= spec.out_channels <= MAX_CHANNELS
    ):
        raise InvalidStack(
            gettext_noop(
                "Layer %(number)s: a convolution needs 1 to %(most)s output channels."
            ),
            number=number,
            most=MAX_CHANNELS,
        )


def _out_side(number: int, spec: LayerSpec, side: int) -> int:
    out = Window(spec.kernel, spec.stride, spec.padding).out_size(side)
    if out < 1:
        raise InvalidStack(
            gettext_noop(
                "Layer %(number)s: a %(kernel)s×%(kernel)s window does not fit a "
                "%(side)s-pixel side with padding %(padding)s; nothing comes out."
            ),
            number=number,
            kernel=spec.kernel,
            side=side,
            padding=spec.padding,
        )
    return out


def _conv_cost(
    spec: LayerSpec, c_in: int, c_out: int, pixels: int
) -> tuple[int, int, str]:
    """Parameters, MACs and the parameter formula of a conv or separable layer."""
    k, bias = spec.kernel, spec.bias
    if spec.kind == "conv":
        params = k * k * c_in * c_out + (c_out if bias else 0)
        formula = f"{k}×{k}×{c_in}×{c_out}" + (f" + {c_out}" if bias else "")
        return params, pixels * c_out * c_in * k * k, formula
    # Depthwise k x k (one kernel per channel), then pointwise 1 x 1.
    depthwise = k * k * c_in + (c_in if bias else 0)
    pointwise = c_in * c_out + (c_out if bias else 0)
    formula = f"{k}×{k}×{c_in}" + (f" + {c_in}" if bias else "")
    formula += f" + {c_in}×{c_out}" + (f" + {c_out}" if bias else "")
    macs = pixels * c_in * k * k + pixels * c_out * c_in
    return depthwise + pointwise, macs, formula


def calculate_stack(
    input_shape: tuple[int, int, int], layers: Sequence[LayerSpec]
) -> StackResult:
    """Measure ``layers`` run in order on one image of ``input_shape`` (C, H, W).

    Raises ``InvalidStack`` (a ``BadInput``) naming the first layer that PyTorch
    would refuse: bad sizes, too much pooling padding, or a window that no longer
    fits the shrinking map.
    """
    channels, height, width = input_shape
    if not (1 <= channels <= MAX_CHANNELS and min(height, width) >= 1):
        raise InvalidStack(gettext_noop("The input needs at least one pixel."))
    if max(height, width) > MAX_SIDE:
        raise InvalidStack(
            gettext_noop("The input may be at most %(most)s pixels on a side."),
            most=MAX_SIDE,
        )
    if len(layers) > MAX_LAYERS:
        raise InvalidStack(
            gettext_noop("A stack holds at most %(most)s layers."), most=MAX_LAYERS
        )
    windows: list[Window] = []
    results = []
    shape = (channels, height, width)
    for number, spec in enumerate(layers, start=1):
        _check_layer(number, spec)
        c_in, h_in, w_in = shape
        h_out = _out_side(number, spec, h_in)
        w_out = _out_side(number, spec, w_in)
        windows.append(Window(spec.kernel, spec.stride, spec.padding))
        if spec.kind in CONV_KINDS:
            c_out = int(spec.out_channels or 0)
            params, macs, formula = _conv_cost(spec, c_in, c_out, h_out * w_out)
        else:
            c_out, params, macs, formula = c_in, 0, 0, "0"
        out_shape = (c_out, h_out, w_out)
        results.append(
            LayerResult(
                kind=spec.kind,
                kernel=spec.kernel,
                stride=spec.stride,
                padding=spec.padding,
                bias=spec.bias if spec.kind in CONV_KINDS else False,
                in_shape=shape,
                out_shape=out_shape,
                params=params,
                macs=macs,
                receptive_field=field_size(windows),
                params_formula=formula,
            )
        )
        shape = out_shape
    return StackResult(input_shape=(channels, height, width), layers=tuple(results))


# --- Presets: the comparisons lesson 7 makes --------------------------------------


@dataclass(frozen=True)
class StackPreset:
    """A stack to load, with the stack it is compared against (may be empty)."""

    key: str
    input_shape: tuple[int, int, int]
    layers: tuple[LayerSpec, ...]
    reference: tuple[LayerSpec, ...] = ()


def _conv(
    k: int, c_out: int, *, stride: int = 1, padding: int | None = None, bias: bool
) -> LayerSpec:
    pad = k // 2 if padding is None else padding
    return LayerSpec("conv", k, stride, pad, c_out, bias)


PRESETS: tuple[StackPreset, ...] = (
    # VGG's argument: two 3x3 see what one 5x5 sees, for 18 C^2 instead of 25 C^2.
    StackPreset(
        "two-3x3-for-one-5x5",
        (64, 56, 56),
        (_conv(3, 64, bias=False), _conv(3, 64, bias=False)),
        (_conv(5, 64, bias=False),),
    ),
    # GoogLeNet's inception (3a), 5x5 branch: 192 channels reduced to 16 first.
    StackPreset(
        "reduce-before-5x5",
        (192, 28, 28),
        (_conv(1, 16, bias=True), _conv(5, 32, bias=True)),
        (_conv(5, 32, bias=True),),
    ),
    # Inception (3a), 3x3 branch: 192 → 96 by 1x1, then 3x3 to 128.
    StackPreset(
        "reduce-before-3x3",
        (192, 28, 28),
        (_conv(1, 96, bias=True), _conv(3, 128, bias=True)),
        (_conv(3, 128, bias=True),),
    ),
    # VGG16's first block, exactly torchvision's features[0:5] (ReLUs cost nothing).
    StackPreset(
        "vgg-block",
        (3, 224, 224),
        (
            _conv(3, 64, bias=True),
            _conv(3, 64, bias=True),
            LayerSpec("maxpool", 2, 2, 0),
        ),
    ),
    # MobileNet: a depthwise-separable 3x3 against a full 3x3.
    StackPreset(
        "separable",
        (64, 56, 56),
        (LayerSpec("separable", 3, 1, 1, 128, False),),
        (_conv(3, 128, bias=False),),
    ),
)
PRESETS_BY_KEY = {preset.key: preset for preset in PRESETS}


def spec_dict(spec: LayerSpec) -> dict:
    """A layer as the API and the page's script spell it."""
    return {
        "kind": spec.kind,
        "kernel": spec.kernel,
        "stride": spec.stride,
        "padding": spec.padding,
        "out_channels": spec.out_channels,
        "bias": spec.bias,
    }
