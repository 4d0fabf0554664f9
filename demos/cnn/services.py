"""What the CNN lessons compute: feature maps, digit predictions, activation and
autoencoder demos, and training the digits models.

Feature maps are computed once per (image, model) for every layer of the model in
one forward pass and cached on disk under ``settings.FEATURE_MAP_CACHE_DIR``::

    maps/public/<digest>/            sample photos: anyone may read
    maps/users/<user id>/<digest>/   uploads and drawings: only their owner

``<digest>`` hashes the image's SHA-256, the model and its weights file. A run folder
holds ``run.json`` (written last: its presence marks a complete run), ``input.png``
(what the network saw), ``<layer>.npz`` (each channel normalised to uint8) and
``<layer>.filters.png``. Grids and single channels (``<layer>.grid.png``,
``<layer>.strongest.png``, ``<layer>.c<k>.png``) are drawn from the npz on first
request. Files are written to a temporary name and renamed, so a reader never sees
half a file.

torch and the digits models are imported inside the functions that run them, so
importing this module (the URLconf does) loads neither.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import cv2
import numpy as np
from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from demos.common.imaging import DecodedImage, decode_image
from demos.common.limits import image_limits
from demos.common.samples import title_of_file
from demos.ml import networks as cnn_models
from demos.ml.feature_maps import (
    TRACING,
    channel_stats,
    colorize,
    feature_map_grid,
    filter_grid,
    histogram,
    normalise_channels,
    signed_image,
    strongest_channels,
    tile_grid,
)
from portal.lib.errors import BadInput

if TYPE_CHECKING:
    import torch

RENDER_VERSION = "2"  # bump when the files' content changes: old caches are ignored
SAMPLES_DIR = "img/samples"
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MAX_TILE = 112  # grid tiles larger than this are shrunk (a 224x224 map → 112x112)
PUBLIC, MINE = "sample", "mine"  # the two scopes as they appear in URLs
_DIGEST = re.compile(r"^[0-9a-f]{40}$")
_FILE = re.compile(
    r"^(?:input|(?P<layer>[A-Za-z0-9_-]+)\.(?P<kind>grid|strongest|filters|c(?P<c>\d{1,4})))"
    r"\.png$"
)


class UnknownSample(BadInput):
    """No sample photo has this name."""


class BlankDrawing(BadInput):
    """The drawing has no ink."""


# ------------------------------------------------------------------ inputs


def _samples_dir() -> Path | None:
    found = finders.find(SAMPLES_DIR)
    return Path(found) if found else None


def list_samples() -> list[dict[str, str]]:
    """Shipped sample photos: ``[{"name", "title", "static_path"}]`` (localised)."""
    folder = _samples_dir()
    if folder is None:
        return []
    return [
        {
            "name": path.stem,
            "title": title_of_file(path.name),
            "static_path": f"{SAMPLES_DIR}/{path.name}",
        }
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in SAMPLE_SUFFIXES
    ]


def sample_bytes(name: str) -> bytes:
    """The file of a sample photo by name (a name from ``list_samples`` only)."""
    folder = _samples_dir()
    for sample in list_samples():
        if sample["name"] == name and folder is not None:
            return (folder / Path(sample["static_path"]).name).read_bytes()
    raise UnknownSample(
        gettext("Unknown sample %(name)r. Choose one of: %(names)s.")
        % {"name": name, "names": ", ".join(s["name"] for s in list_samples())}
    )


def decode_upload(data: bytes) -> DecodedImage:
    """An uploaded photo decoded with the portal's size and pixel limits."""
    return decode_image(data, image_limits())


# ------------------------------------------------------------------ cache folders


def _maps_root() -> Path:
    return Path(settings.FEATURE_MAP_CACHE_DIR) / "maps"


def run_dir(scope: str, digest: str, owner_id: int | None) -> Path:
    """The folder of one cached run; ``MINE`` needs the owner, ``PUBLIC`` ignores it."""
    if not _DIGEST.match(digest):
        raise FileNotFoundError(digest)
    if scope == PUBLIC:
        return _maps_root() / "public" / digest
    if scope == MINE and owner_id is not None:
        return _maps_root() / "users" / str(int(owner_id)) / digest
    raise FileNotFoundError(scope)


def owners_of(digest: str) -> list[int]:
    """Ids of the users whose cache holds this run (for staff look-ups)."""
    if not _DIGEST.match(digest):
        return []
    users = _maps_root() / "users"
    if not users.is_dir():
        return []
    return sorted(
        int(folder.name)
        for folder in users.iterdir()
        if folder.name.isdigit() and (folder / digest).is_dir()
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join((*parts, RENDER_VERSION)).encode()).hexdigest()[:40]


def _weights_tag(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


def _write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; these are ordinary files
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def png_bytes(rgb: np.ndarray) -> bytes:
    """RGB (or grey) uint8 → PNG bytes."""
    image = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover — OpenCV encodes any uint8 image
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()


def _npz_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, maps=array)
    return buffer.getvalue()


def file_slug(layer: str) -> str:
    """A layer name as a file name part ("features.3" → "features_3")."""
    return layer.replace(".", "_")


# ------------------------------------------------------------------ feature maps


@dataclass(frozen=True)
class FeatureMapResult:
    """One layer of one cached run, as the API reports it."""

    model: str
    layer: str
    label: str
    shape: list[int]
    scope: str
    digest: str
    maps: list[dict[str, Any]]  # {"channel", "mean", "max"}, strongest first
    top5: list[dict[str, Any]] | None
    has_filters: bool
    input_note: str
    cam: dict[str, Any] | None = None  # {"label", "overlay_url"}: Grad-CAM, top class

    @property
    def grid_file(self) -> str:
        return f"{file_slug(self.layer)}.grid.png"

    @property
    def strongest_file(self) -> str:
        return f"{file_slug(self.layer)}.strongest.png"

    @property
    def filters_file(self) -> str | None:
        return f"{file_slug(self.layer)}.filters.png" if self.has_filters else None

    def channel_file(self, channel: int) -> str:
        return f"{file_slug(self.layer)}.c{channel}.png"


def _write_run(
    folder: Path, model: cnn_models.LoadedCnn, run: cnn_models.CnnRun, extra: dict
) -> dict:
    """Write every layer of ``run`` into ``folder``; ``run.json`` last."""
    spec = model.spec
    layers = {}
    for layer in spec.layers:
        maps = run.maps[layer.name]
        _write_bytes(
            folder / f"{file_slug(layer.name)}.npz",
            _npz_bytes(normalise_channels(maps)),
        )
        weight = model.filters(layer.name)
        if weight is not None:
            _write_bytes(
                folder / f"{file_slug(layer.name)}.filters.png",
                png_bytes(filter_grid(weight, bgr=spec.filters_bgr)),
            )
        stats = channel_stats(maps)
        layers[layer.name] = {
            "shape": list(maps.shape),
            "has_filters": weight is not None,
            "maps": [
                {
                    "channel": stats[index].channel,
                    "mean": round(stats[index].mean, 5),
                    "max": round(stats[index].max, 5),
                }
                for index in strongest_channels(maps)
            ],
        }
    preview = run.input_preview
    _write_bytes(folder / "input.png", png_bytes(preview))
    summary = {
        "model": spec.key,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "top5": [{"label": label, "probability": round(p, 5)} for label, p in run.top5]
        if run.top5
        else None,
        "layers": layers,
        **extra,
    }
    _write_bytes(folder / "run.json", json.dumps(summary).encode())
    return summary


def read_run(scope: str, digest: str, owner_id: int | None) -> dict:
    """A cached run's ``run.json``; ``FileNotFoundError`` if absent or not yours."""
    return json.loads((run_dir(scope, digest, owner_id) / "run.json").read_bytes())


def render_feature_maps(
    *,
    model_key: str,
    layer: str,
    image_bytes: bytes | None = None,
    sample: str | None = None,
    owner_id: int | None = None,
    top_k: int | None = None,
) -> FeatureMapResult:
    """Feature maps of one layer for a photo (upload bytes or a sample name).

    Uploads are cached in the owner's folder (``owner_id`` required), samples in the
    public one. ``top_k`` limits ``maps`` to the strongest channels. Raises
    ``BadInput`` subclasses for bad images, names and layers, and
    ``CnnModelUnavailable`` when the model's weights are not in the store.
    """
    spec = cnn_models.get_spec(model_key)
    layer_spec = spec.layer(layer)
    if (image_bytes is None) == (sample is None):
        raise BadInput(gettext("Send either an image or a sample name."))
    if sample is not None:
        image_bytes, scope = sample_bytes(sample), PUBLIC
    else:
        if owner_id is None:
            raise BadInput(gettext("Log in to analyse your own photos."))
        scope = MINE
    decoded = decode_upload(image_bytes)
    weights = cnn_models.weights_path(spec)
    digest = _digest(decoded.sha256, spec.key, _weights_tag(weights))
    folder = run_dir(scope, digest, owner_id)
    try:
        summary = read_run(scope, digest, owner_id)
    except FileNotFoundError:
        model = cnn_models.get_cnn_model(spec.key)
        summary = _write_run(
            folder, model, model.run(decoded.rgb), {"cam": _cam(model, decoded.rgb)}
        )
    info = summary["layers"][layer_spec.name]
    maps = info["maps"][:top_k] if top_k else info["maps"]
    return FeatureMapResult(
        model=spec.key,
        layer=layer_spec.name,
        label=str(layer_spec.label),
        shape=info["shape"],
        scope=scope,
        digest=digest,
        maps=maps,
        top5=summary["top5"],
        has_filters=info["has_filters"],
        input_note=str(spec.input_note),
        cam=summary.get("cam"),
    )


def _cam(model: cnn_models.LoadedCnn, rgb: np.ndarray) -> dict[str, Any] | None:
    """Grad-CAM of the model's top class as ``{"label", "overlay_url"}`` (torch
    classifiers only)."""
    explain = getattr(model, "explain", None)
    result = explain(rgb) if explain else None
    if result is None:
        return None
    return {"label": result.label, "overlay_url": _data_url(result.overlay)}


def map_file(scope: str, digest: str, filename: str, owner_id: int | None) -> Path:
    """Path of a cached image, drawing grids and channels from the npz on first use.

    Raises ``FileNotFoundError`` for anything that does not exist or is not the
    caller's (a user's files are looked up in their own folder only).
    """
    match = _FILE.match(filename)
    if not match:
        raise FileNotFoundError(filename)
    folder = run_dir(scope, digest, owner_id)
    path = folder / filename
    if path.exists():
        return path
    kind, layer = match["kind"], match["layer"]
    if kind not in ("grid", "strongest") and match["c"] is None:
        raise FileNotFoundError(filename)
    with np.load(folder / f"{layer}.npz") as data:
        grey = data["maps"]
    if match["c"] is not None:
        channel = int(match["c"])
        if channel >= grey.shape[0]:
            raise FileNotFoundError(filename)
        image = colorize(grey[channel])
    else:
        # The npz holds maps already normalised per channel; the order for
        # "strongest" comes from run.json (means of the raw values).
        image = _grid_from_normalised(grey, folder, layer, kind == "strongest")
    _write_bytes(path, png_bytes(image))
    return path


def _grid_from_normalised(
    grey: np.ndarray, folder: Path, layer: str, strongest: bool
) -> np.ndarray:
    order = list(range(grey.shape[0]))
    if strongest:
        summary = json.loads((folder / "run.json").read_bytes())
        for name, info in summary["layers"].items():
            if file_slug(name) == layer:
                order = [item["channel"] for item in info["maps"]]
    tiles = grey[order]
    height, width = tiles.shape[1:]
    if max(height, width) > MAX_TILE:
        factor = MAX_TILE / max(height, width)
        size = (max(1, round(width * factor)), max(1, round(height * factor)))
        tiles = np.stack(
            [cv2.resize(t, size, interpolation=cv2.INTER_AREA) for t in tiles]
        )
        return tile_grid(np.stack([colorize(t) for t in tiles]))
    # Already normalised: the grid's own per-channel scaling leaves them unchanged.
    return feature_map_grid(tiles.astype(np.float32))


# ------------------------------------------------------------------ digits


@dataclass(frozen=True)
class DigitPrediction:
    digit: int
    probabilities: list[float]  # 10 values, index = digit
    digest: str  # of the cached maps (scope MINE)
    pixels: list[list[int]]  # the 8x8 image (0..16) the drawing became
    cam: list[list[float]]  # Grad-CAM of the digit over the 32x32 input, 0..1
    cam_overlay_url: str  # data:image/png;base64 of the map over the input


def predict_digit(*, image_bytes: bytes, owner_id: int) -> DigitPrediction:
    """Classify a drawn digit (PNG of any size, either polarity), explain the answer
    with Grad-CAM (at ``relu2``, the last convolution block) and cache its maps.

    The drawing is centred and scaled like the training data (see
    ``digits_model.prepare_drawn_digit``); every layer's maps of the network input
    are written to the owner's cache folder for ``digit_maps``.
    """
    import torch

    from demos.ml import digits as digits_model
    from demos.ml.gradcam import cam_overlay, class_activation_map

    decoded = decode_upload(image_bytes)
    try:
        pixels = digits_model.prepare_drawn_digit(decoded.rgb)
    except digits_model.NoDigitFound as exc:
        raise BlankDrawing(
            gettext("No digit found: the drawing is blank. Draw a digit first.")
        ) from exc
    tensor = digits_model.digits_to_tensor(pixels)
    model = cnn_models.get_digits_cnn()
    with TRACING, torch.inference_mode():
        probabilities = torch.softmax(model(tensor)[0], dim=0).tolist()
    digit = int(np.argmax(probabilities))
    spec = cnn_models.get_spec("digits-cnn")
    cam = class_activation_map(model, tensor, spec.cam_layer, digit)
    grey = np.rint(tensor[0, 0].numpy() * 255).astype(np.uint8)
    overlay = cam_overlay(np.repeat(grey[:, :, None], 3, axis=2), cam)
    weights = cnn_models.weights_path(spec)
    digest = _digest(decoded.sha256, "digits-draw", _weights_tag(weights))
    folder = run_dir(MINE, digest, owner_id)
    if not (folder / "run.json").exists():
        # The digits model is always a TorchCnn (see cnn_models._build).
        loaded = cast(cnn_models.TorchCnn, cnn_models.get_cnn_model("digits-cnn"))
        outputs = loaded.forward(tensor)
        run = cnn_models.CnnRun(
            input_preview=np.repeat(grey[:, :, None], 3, axis=2),
            maps={layer.name: outputs[layer.name][0].numpy() for layer in spec.layers},
        )
        _write_run(
            folder,
            loaded,
            run,
            {"digit": digit, "probabilities": [round(p, 5) for p in probabilities]},
        )
    return DigitPrediction(
        digit=digit,
        probabilities=[round(p, 5) for p in probabilities],
        digest=digest,
        pixels=pixels.astype(int).tolist(),
        cam=np.round(cam.astype(np.float64), 4).tolist(),
        cam_overlay_url=_data_url(overlay),
    )


def digit_maps(*, digest: str, owner_id: int) -> dict[str, Any]:
    """The cached layers of a drawn digit: ``{"digit", "probabilities", "layers"}``.

    ``layers``: ``[{"name", "label", "shape", "grid_file"}]`` in network order.
    Raises ``FileNotFoundError`` when the run is not the owner's.
    """
    summary = read_run(MINE, digest, owner_id)
    spec = cnn_models.get_spec("digits-cnn")
    return {
        "digit": summary.get("digit"),
        "probabilities": summary.get("probabilities"),
        "layers": [
            {
                "name": layer.name,
                "label": str(layer.label),
                "shape": summary["layers"][layer.name]["shape"],
                "grid_file": f"{file_slug(layer.name)}.grid.png",
            }
            for layer in spec.layers
        ],
    }


# ------------------------------------------------------------------ activations

ACTIVATION_SIZE = 128  # conv layers take any size: a bigger photo reads better
STAGES = (
    ("conv", _("conv1 output (before anything else)")),
    ("relu", _("ReLU(conv1): negatives become 0")),
    ("bn_train", _("BatchNorm, train mode: this image's own mean and variance")),
    ("bn_eval", _("BatchNorm, eval mode: running statistics from training")),
    ("bn_relu", _("BatchNorm (eval) then ReLU: what the next layer receives")),
    ("dropout_train", _("Dropout p=0.5, train mode: half zeroed, the rest doubled")),
    ("dropout_eval", _("Dropout, eval mode: passes everything unchanged")),
)


def _data_url(rgb: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode()


def _summary(values: np.ndarray) -> dict[str, float]:
    return {
        "mean": round(float(values.mean()), 4),
        "std": round(float(values.std()), 4),
        "min": round(float(values.min()), 4),
        "max": round(float(values.max()), 4),
        "zeros": round(float((values == 0).mean()), 4),
    }


def activation_demo(*, sample: str, channel: int, seed: int = 0) -> dict[str, Any]:
    """A real feature map through ReLU, BatchNorm and Dropout, train vs eval.

    The map is channel ``channel`` of the digits CNN's first convolution on a
    128x128 grey version of a sample photo (convolutions work at any size). BatchNorm
    uses the network's own learnt parameters: in train mode the statistics of this
    image, in eval mode the running averages of the training digits. Each stage comes
    with a picture (blue negative, white zero, red positive; pairs share a scale),
    a histogram and summary numbers.
    """
    import torch
    from torch.nn import functional as F

    model = cnn_models.get_digits_cnn()
    count = model.conv1.out_channels
    if not 0 <= channel < count:
        raise BadInput(
            gettext("Channel must be between 0 and %(last)d.") % {"last": count - 1}
        )
    decoded = decode_upload(sample_bytes(sample))
    grey = cv2.cvtColor(decoded.rgb, cv2.COLOR_RGB2GRAY)
    side = min(grey.shape)
    top, left = (grey.shape[0] - side) // 2, (grey.shape[1] - side) // 2
    grey = cv2.resize(
        grey[top : top + side, left : left + side],
        (ACTIVATION_SIZE, ACTIVATION_SIZE),
        interpolation=cv2.INTER_AREA,
    )
    tensor = torch.from_numpy(grey.astype(np.float32) / 255.0)[None, None]
    # The site's one activation path: the digits CNN's shared feature extractor.
    # conv1 → bn1 (eval mode: running statistics) → relu1, as the network runs them.
    loaded = cast(cnn_models.TorchCnn, cnn_models.get_cnn_model("digits-cnn"))
    outputs = loaded.forward(tensor)
    conv, bn_eval, bn_relu = outputs["conv1"], outputs["bn1"], outputs["relu1"]
    bn = model.bn1
    with torch.inference_mode():
        # Train mode normalises with this image's own statistics instead.
        bn_train = F.batch_norm(
            conv, None, None, bn.weight, bn.bias, training=True, eps=bn.eps
        )
        generator = torch.Generator().manual_seed(seed)
        keep = torch.rand(bn_relu.shape, generator=generator) >= 0.5
        dropout_train = bn_relu * keep / 0.5  # what F.dropout(p=0.5) does in training
    values = {
        "conv": conv,
        "relu": torch.relu(conv),
        "bn_train": bn_train,
        "bn_eval": bn_eval,
        "bn_relu": bn_relu,
        "dropout_train": dropout_train,
        "dropout_eval": bn_relu,
    }
    arrays = {key: value[0, channel].numpy() for key, value in values.items()}
    # Pairs a student compares share one colour scale.
    groups = (
        ("conv", "relu"),
        ("bn_train", "bn_eval", "bn_relu"),
        ("dropout_train", "dropout_eval"),
    )
    limits = {}
    for group in groups:
        limit = max(float(np.abs(arrays[key]).max()) for key in group)
        limits.update(dict.fromkeys(group, limit))
    return {
        "sample": sample,
        "channel": channel,
        "channels": count,
        "input": _data_url(grey),
        "running_mean": round(float(bn.running_mean[channel]), 4),
        "running_var": round(float(bn.running_var[channel]), 4),
        "stages": [
            {
                "key": key,
                "title": str(title),
                "image": _data_url(signed_image(arrays[key], limits[key])),
                "limit": round(limits[key], 4),
                "histogram": histogram(arrays[key], bins=30),
                "stats": _summary(arrays[key]),
            }
            for key, title in STAGES
        ],
    }


# ------------------------------------------------------------------ autoencoder


@cache
def autoencoder_demo() -> dict[str, Any]:
    """The test digits, their reconstructions and the precomputed t-SNE maps.

    ``digits``: N x 64 ints 0..16; ``reconstructions``: N x 64 ints; ``labels``: N;
    ``errors``: per-digit mean squared error (pixels scaled to 0..1); ``tsne``:
    ``{view: N x 2 points in -1..1}`` for views "pixels", "autoencoder" and "cnn".
    """
    from demos.ml import digits as digits_model

    data = digits_model.load_digits_split()
    autoencoder = cnn_models.get_digits_autoencoder()
    with TRACING:
        rebuilt = digits_model.reconstruct(autoencoder, data.test_images)
    errors = ((rebuilt - data.test_images) / digits_model.DATA_MAX) ** 2
    try:
        tsne = digits_model.read_meta(digits_model.TSNE_FILE)
    except FileNotFoundError as exc:
        raise cnn_models.CnnModelUnavailable(
            gettext("The t-SNE map has not been computed. Fix: `%(fix)s`.")
            % {"fix": "python manage.py train_digits"}
        ) from exc
    return {
        "labels": data.test_labels.tolist(),
        "digits": np.rint(data.test_images).astype(int).reshape(-1, 64).tolist(),
        "reconstructions": np.clip(np.rint(rebuilt), 0, 16)
        .astype(int)
        .reshape(-1, 64)
        .tolist(),
        "errors": [round(float(e), 4) for e in errors.mean(axis=(1, 2))],
        "code_size": autoencoder.encoder[-1].out_features,
        "tsne": tsne["views"],
        "tsne_params": {k: v for k, v in tsne.items() if k != "views"},
    }


# ------------------------------------------------------------------ training


def train_digits_models(
    *,
    out_dir: Path,
    epochs: int = 20,
    autoencoder_epochs: int = 100,
    seed: int = 0,
    with_tsne: bool = True,
    progress: Any = None,
) -> dict[str, Any]:
    """Train the digits CNN and autoencoder, write weights, metadata and t-SNE.

    Writes ``digits_cnn.pth/.json``, ``digits_autoencoder.pth/.json`` and
    ``digits_tsne.json`` into ``out_dir``; returns the CNN's metadata.
    ``progress(message)`` is called between steps.
    """
    import torch

    from demos.ml import digits as digits_model

    say = progress or (lambda message: None)
    # More threads than free cores slows these tiny models down many times over.
    torch.set_num_threads(settings.TORCH_THREADS)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = digits_model.load_digits_split()
    command = (
        f"python manage.py train_digits --epochs {epochs} "
        f"--autoencoder-epochs {autoencoder_epochs} --seed {seed}"
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")

    say(gettext("Training the digits CNN…"))
    cnn, cnn_result = digits_model.train_digits_cnn(data, epochs=epochs, seed=seed)
    cnn_meta = save_model(
        cnn,
        out_dir / digits_model.CNN_WEIGHTS.name,
        {
            "model": "DigitsCNN (LeNet-5 with batch norm and dropout)",
            "input": "1x32x32, 8x8 sklearn digits (0..16) upsampled bilinearly",
            "accuracy": round(cnn_result.test_accuracy, 4),
            "test_loss": round(cnn_result.test_loss, 4),
            "epochs": epochs,
            "seed": seed,
            "split_seed": digits_model.SPLIT_SEED,
            "train_size": cnn_result.train_size,
            "test_size": cnn_result.test_size,
            "params": cnn_result.params,
            "date": now,
            "command": command,
            "torch": torch.__version__,
        },
    )
    say(gettext("Training the autoencoder…"))
    autoencoder, ae_result = digits_model.train_autoencoder(
        data, epochs=autoencoder_epochs, seed=seed
    )
    save_model(
        autoencoder,
        out_dir / digits_model.AUTOENCODER_WEIGHTS.name,
        {
            "model": "DigitsAutoencoder (64-32-8-32-64, fully connected)",
            "test_mse": round(ae_result.test_loss, 5),
            "epochs": autoencoder_epochs,
            "seed": seed,
            "split_seed": digits_model.SPLIT_SEED,
            "params": ae_result.params,
            "date": now,
            "command": command,
            "torch": torch.__version__,
        },
    )
    if with_tsne:
        say(gettext("Computing t-SNE maps of the test digits…"))
        features = digits_model.feature_sets(cnn, autoencoder, data.test_images)
        views = {
            name: np.round(
                digits_model.tsne_2d(values, seed=seed).astype(np.float64), 4
            ).tolist()
            for name, values in features.items()
        }
        tsne = {
            "perplexity": 30,
            "seed": seed,
            "points": len(data.test_images),
            "date": now,
            "command": command,
            "views": views,
        }
        _write_bytes(
            out_dir / digits_model.TSNE_FILE.name,
            json.dumps(tsne, separators=(",", ":")).encode(),
        )
    cnn_models.clear_cache()
    autoencoder_demo.cache_clear()
    return cnn_meta


def save_model(model: torch.nn.Module, path: Path, meta: dict[str, Any]) -> dict:
    """``torch.save(state_dict)`` plus a JSON of ``meta`` and the file's SHA-256."""
    import torch

    from demos.ml import digits as digits_model

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    _write_bytes(path, buffer.getvalue())
    meta = {**meta, "file": path.name, "sha256": digits_model.sha256_of_file(path)}
    _write_bytes(
        path.with_suffix(".json"), (json.dumps(meta, indent=2) + "\n").encode()
    )
    return meta
