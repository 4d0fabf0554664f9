"""The digits CNN in numpy: the web worker's runtime, no torch (pure, no Django).

``DigitsCNN`` (``demos.ml.digits``) is trained with torch; ``manage.py train_digits``
writes its state dict twice, as ``digits_cnn.pth`` and as ``digits_cnn.npz`` (the
same arrays under the same names), each with its SHA-256 in ``digits_cnn.json``.
``DigitsNet`` loads the ``.npz`` (hash checked) and runs the network as eval mode
does (dropout is the identity, batch norm uses the running statistics):

    conv1 5x5 pad 2 → bn1 → relu1 → pool1 2x2 → conv2 5x5 → bn2 → relu2 → pool2 2x2
    → flatten → fc1 → relu3 → dropout → fc2 → relu4 → fc3 (10 logits)

``LAYERS`` is that list, the one home of the layer names (the torch module's
children carry the same names, a test checks it). Convolutions are im2col with
numpy's sliding windows. Grad-CAM at ``relu2`` backpropagates one logit by hand
through fc3, relu4, fc2, relu3, fc1, flatten and pool2: four matrix products and
a scatter through each pooling window's maximum. The tests compare every layer,
the logits and the map with the torch model's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from demos.ml.bundled import WEIGHTS_DIR
from models_store.download import sha256_of

LAYERS = (
    "conv1",
    "bn1",
    "relu1",
    "pool1",
    "conv2",
    "bn2",
    "relu2",
    "pool2",
    "flatten",
    "fc1",
    "relu3",
    "dropout",
    "fc2",
    "relu4",
    "fc3",
)
# Layers whose outputs are images (the classifier part is flat vectors).
FEATURE_LAYERS = LAYERS[: LAYERS.index("pool2") + 1]
CAM_LAYER = "relu2"
BN_EPS = 1e-5  # nn.BatchNorm2d's default
CONV1_PADDING = 2

NUMPY_WEIGHTS = WEIGHTS_DIR / "digits_cnn.npz"
META = WEIGHTS_DIR / "digits_cnn.json"


class WeightsMismatch(ValueError):
    """The ``.npz`` is missing, or does not match the SHA-256 in its JSON."""


def load_arrays(
    weights: Path = NUMPY_WEIGHTS, meta: Path = META
) -> dict[str, np.ndarray]:
    """The state dict's arrays from ``weights``, checked against ``meta``'s
    ``npz_sha256``. Raises ``WeightsMismatch`` with the fix."""
    fix = "rebuild it with `python manage.py train_digits`."
    try:
        expected = json.loads(meta.read_text(encoding="utf-8")).get("npz_sha256")
        actual = sha256_of(weights)
    except (FileNotFoundError, ValueError) as exc:
        raise WeightsMismatch(
            f"{weights.name} or {meta.name} is unreadable; {fix}"
        ) from exc
    if expected != actual:
        raise WeightsMismatch(
            f"{weights.name} does not match its recorded SHA-256; {fix}"
        )
    with np.load(weights, allow_pickle=False) as data:
        return {name: data[name].astype(np.float32) for name in data.files}


def conv2d(
    x: np.ndarray, weight: np.ndarray, bias: np.ndarray, padding: int = 0
) -> np.ndarray:
    """N x C x H x W * O x C x k x k (stride 1) → N x O x H' x W', any H x W."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2))
    size = weight.shape[-1]
    windows = sliding_window_view(x, (size, size), axis=(2, 3))  # N C H' W' k k
    out = np.tensordot(windows, weight, axes=((1, 4, 5), (1, 2, 3)))  # N H' W' O
    return (out + bias).transpose(0, 3, 1, 2).astype(np.float32)


def batch_norm(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray | None = None,
    var: np.ndarray | None = None,
) -> np.ndarray:
    """Batch norm of N x C x H x W: with ``mean``/``var`` as eval mode (running
    statistics), without them as train mode (this batch's mean and biased
    variance per channel)."""
    if mean is None or var is None:
        # Accumulated in float64, as torch does on the CPU.
        mean = x.mean(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
        var = x.var(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
    shape = (1, -1, 1, 1)
    scale = weight / np.sqrt(var + np.float32(BN_EPS))
    return (
        (x - mean.reshape(shape)) * scale.reshape(shape) + bias.reshape(shape)
    ).astype(np.float32)


def max_pool2(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling, stride 2 (odd edges dropped, as torch does)."""
    n, c, h, w = x.shape
    x = x[:, :, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _pool2_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The gradient of ``max_pool2`` for one C x H x W input: each window's
    gradient goes to its first maximum (row by row), as torch's does."""
    c, h, w = x.shape
    windows = x.reshape(c, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 2, 4)
    first = windows.reshape(c, h // 2, w // 2, 4).argmax(axis=3)
    spread = np.zeros((c, h // 2, w // 2, 4), dtype=np.float32)
    np.put_along_axis(spread, first[..., None], grad[..., None], axis=3)
    spread = spread.reshape(c, h // 2, w // 2, 2, 2).transpose(0, 1, 3, 2, 4)
    return spread.reshape(c, h, w)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(0))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


@dataclass(frozen=True)
class DigitsNet:
    """The committed digits CNN as numpy arrays (``state``: the state dict)."""

    state: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.state[name]

    def batch_norm(
        self, layer: str, x: np.ndarray, *, train: bool = False
    ) -> np.ndarray:
        """``layer`` (bn1, bn2) in eval mode, or in train mode (``x``'s statistics)."""
        w, b = self[f"{layer}.weight"], self[f"{layer}.bias"]
        if train:
            return batch_norm(x, w, b)
        return batch_norm(
            x, w, b, self[f"{layer}.running_mean"], self[f"{layer}.running_var"]
        )

    def forward(
        self, x: np.ndarray, *, until: str = LAYERS[-1]
    ) -> dict[str, np.ndarray]:
        """``x`` N x 1 x H x W (0..1) → ``{layer: output}`` for ``LAYERS`` up to
        ``until``. The convolution part takes any size; the classifier needs 32x32."""
        outputs: dict[str, np.ndarray] = {}
        steps = {
            "conv1": lambda v: conv2d(
                v, self["conv1.weight"], self["conv1.bias"], CONV1_PADDING
            ),
            "bn1": lambda v: self.batch_norm("bn1", v),
            "relu1": relu,
            "pool1": max_pool2,
            "conv2": lambda v: conv2d(v, self["conv2.weight"], self["conv2.bias"]),
            "bn2": lambda v: self.batch_norm("bn2", v),
            "relu2": relu,
            "pool2": max_pool2,
            "flatten": lambda v: v.reshape(len(v), -1),
            "fc1": lambda v: self._linear("fc1", v),
            "relu3": relu,
            "dropout": lambda v: v,  # the identity in eval mode
            "fc2": lambda v: self._linear("fc2", v),
            "relu4": relu,
            "fc3": lambda v: self._linear("fc3", v),
        }
        value = np.asarray(x, dtype=np.float32)
        for name in LAYERS:
            value = steps[name](value)
            outputs[name] = value
            if name == until:
                break
        return outputs

    def _linear(self, layer: str, x: np.ndarray) -> np.ndarray:
        return (x @ self[f"{layer}.weight"].T + self[f"{layer}.bias"]).astype(
            np.float32
        )

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax of the logits of one 1 x 1 x 32 x 32 input → 10 floats."""
        return softmax(self.forward(x)["fc3"][0])

    def cam_gradient(
        self, outputs: dict[str, np.ndarray], class_index: int
    ) -> np.ndarray:
        """d logit[class_index] / d relu2 for the first input of ``outputs``
        (a full ``forward``) → C x H x W: the chain rule from fc3 back to relu2."""
        grad = self["fc3.weight"][class_index]  # d logit / d relu4
        grad = (grad * (outputs["fc2"][0] > 0)) @ self["fc2.weight"]  # / d relu3
        grad = (grad * (outputs["fc1"][0] > 0)) @ self["fc1.weight"]  # / d flatten
        pooled = grad.reshape(outputs["pool2"][0].shape).astype(np.float32)
        return _pool2_backward(outputs[CAM_LAYER][0], pooled)

    def class_activation_map(self, x: np.ndarray, class_index: int) -> np.ndarray:
        """Grad-CAM of ``class_index`` at ``relu2`` for one 1 x 1 x 32 x 32 input
        → 32 x 32 float32 in 0..1 (``gradcam.weighted_map``'s arithmetic)."""
        from demos.ml.gradcam import weighted_map

        outputs = self.forward(x)
        gradients = self.cam_gradient(outputs, class_index)
        return weighted_map(outputs[CAM_LAYER][0], gradients, x.shape[-2], x.shape[-1])


def load_net(weights: Path = NUMPY_WEIGHTS, meta: Path = META) -> DigitsNet:
    """The committed digits CNN (``WeightsMismatch`` if its file is damaged)."""
    return DigitsNet(load_arrays(weights, meta))


def dropout_keep_mask(shape: tuple[int, ...], seed: int, p: float = 0.5) -> np.ndarray:
    """Which values train-mode dropout keeps: ``torch.rand(shape,
    generator=torch.Generator().manual_seed(seed)) >= p``, bit for bit.

    torch's CPU generator is an mt19937 seeded like numpy's legacy ``RandomState``
    (``init_genrand``), and each float32 of ``torch.rand`` is the low 24 bits of one
    32-bit draw divided by 2**24 (the tests compare the masks).
    """
    count = int(np.prod(shape))
    draws = np.random.RandomState(seed).randint(0, 2**32, size=count, dtype=np.uint32)
    uniform = (draws & 0xFFFFFF).astype(np.float64) / float(1 << 24)
    return (uniform >= p).reshape(shape)
