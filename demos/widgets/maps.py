"""The feature-map disk cache and grid rendering shared by the feature-map and digit
widgets.

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

import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language, gettext

from demos.common import disk_cache, sweeper
from demos.common.atomic import write_bytes
from demos.common.imaging import DecodedImage, decode_image
from demos.common.limits import image_limits
from demos.common.samples import chosen_key, sample_bytes
from demos.ml import networks as cnn_models
from demos.ml.feature_maps import (
    channel_stats,
    colorize,
    feature_map_grid,
    filter_grid,
    normalise_channels,
    strongest_channels,
    tile_grid,
)
from demos.widgets.kit import DEFAULT_WIDGET_SAMPLE, lesson_samples, png_data_url
from portal.lib.errors import BadInput

PUBLIC, MINE = "sample", "mine"  # the two scopes as they appear in URLs

RENDER_VERSION = "2"  # bump when the files' content changes: old caches are ignored


MAX_TILE = 112  # grid tiles larger than this are shrunk (a 224x224 map → 112x112)


_DIGEST = re.compile(r"^[0-9a-f]{40}$")


_FILE = re.compile(
    r"^(?:input|(?P<layer>[A-Za-z0-9_-]+)\.(?P<kind>grid|strongest|filters|c(?P<c>\d{1,4})))"
    r"\.png$"
)


class BlankDrawing(BadInput):
    """The drawing has no ink."""


def decode_full_upload(data: bytes) -> DecodedImage:
    """An uploaded photo decoded with the portal's size and pixel limits."""
    return decode_image(data, image_limits())


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


def _no_references(names: list[str]) -> dict[str, sweeper.Verdict]:
    return {}  # nothing points at a cached run: a removed one is simply made again


# Cached maps of uploads and drawings hold students' photos (``input.png``): they go
# after the retention period, dated by ``run.json`` (written last, once), like
# runs. Sample photos (``maps/public/``) are not personal and stay.
UPLOAD_MAPS = sweeper.register(
    sweeper.Owner(
        key="feature-maps",
        prefix="maps/users",
        judge=_no_references,
        grace_seconds=None,
        storage=lambda: sweeper.folder_storage(settings.FEATURE_MAP_CACHE_DIR),
        stamp="run.json",
        summary="{removed} expired feature-map folder(s) of uploads.",
        item="feature maps",
    )
)


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


def cache_digest(*parts: str) -> str:
    return hashlib.sha256("|".join((*parts, RENDER_VERSION)).encode()).hexdigest()[:40]


def weights_tag(path: Path) -> str:
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}"


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


def write_run(
    folder: Path, model: cnn_models.LoadedCnn, run: cnn_models.CnnRun, extra: dict
) -> dict:
    """Write every layer of ``run`` into ``folder``; ``run.json`` last."""
    spec = model.spec
    layers = {}
    for layer in spec.layers:
        maps = run.maps[layer.name]
        write_bytes(
            folder / f"{file_slug(layer.name)}.npz",
            _npz_bytes(normalise_channels(maps)),
        )
        weight = model.filters(layer.name)
        if weight is not None:
            write_bytes(
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
    write_bytes(folder / "input.png", png_bytes(preview))
    summary = {
        "model": spec.key,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "top5": [
            {"label": label, "probability": round(p, 5), "index": index}
            for (label, p), index in zip(
                run.top5, run.top5_index or [None] * len(run.top5), strict=True
            )
        ]
        if run.top5
        else None,
        "layers": layers,
        **extra,
    }
    write_bytes(folder / "run.json", json.dumps(summary).encode())
    # The cache has a size cap (issue 21): the oldest runs make room for this one.
    disk_cache.trim(_maps_root(), settings.FEATURE_MAP_CACHE_MAX_BYTES, keep=folder)
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
    cam_class: int | None = None,
) -> FeatureMapResult:
    """Feature maps of one layer for a photo (upload bytes or a sample name).

    Uploads are cached in the owner's folder (``owner_id`` required), samples in the
    public one. ``top_k`` limits ``maps`` to the strongest channels. Raises
    ``BadInput`` subclasses for bad images, names and layers, and
    ``CnnModelUnavailable`` when the model's weights are not in the store.
    ``cam_class``: Grad-CAM of this class (one of the top 5) instead of the top one.
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
    decoded = decode_full_upload(image_bytes)
    weights = cnn_models.weights_path(spec)
    digest = cache_digest(decoded.sha256, spec.key, weights_tag(weights))
    folder = run_dir(scope, digest, owner_id)
    try:
        summary = read_run(scope, digest, owner_id)
    except FileNotFoundError:
        model = cnn_models.get_cnn_model(spec.key)
        summary = write_run(
            folder, model, model.run(decoded.rgb), {"cam": _cam(model, decoded.rgb)}
        )
    info = summary["layers"][layer_spec.name]
    maps = info["maps"][:top_k] if top_k else info["maps"]
    cam = summary.get("cam")
    if cam_class is not None:
        cam = _chosen_cam(spec.key, folder, summary, decoded.rgb, cam_class)
    return FeatureMapResult(
        model=spec.key,
        layer=layer_spec.name,
        label=str(layer_spec.label),
        shape=info["shape"],
        scope=scope,
        digest=digest,
        maps=maps,
        top5=_named_top5(spec.key, summary["top5"]),
        has_filters=info["has_filters"],
        input_note=str(spec.input_note),
        cam=_named_cam(spec.key, cam),
    )


def _is_imagenet(model_key: str) -> bool:
    return cnn_models.dataset(model_key) == "ImageNet-1k"


def _named_top5(model_key: str, top5: list[dict] | None) -> list[dict] | None:
    """ImageNet class names in the request's language (Korean where curated)."""
    if not top5 or not _is_imagenet(model_key):
        return top5
    from demos.ml.imagenet_names import class_name

    language = get_language() or "en"
    return [
        {**row, "label": class_name(row["index"], language)}
        if row.get("index") is not None
        else row
        for row in top5
    ]


def _named_cam(model_key: str, cam: dict | None) -> dict | None:
    if not cam or cam.get("index") is None or not _is_imagenet(model_key):
        return cam
    from demos.ml.imagenet_names import class_name

    return {**cam, "label": class_name(cam["index"], get_language() or "en")}


def _chosen_cam(
    model_key: str, folder: Path, summary: dict, rgb: np.ndarray, class_index: int
) -> dict[str, Any]:
    """Grad-CAM of one of the top-5 classes, computed once and kept beside the run."""
    allowed = [row.get("index") for row in summary.get("top5") or []]
    if class_index not in allowed:
        raise BadInput(
            gettext("Grad-CAM can explain one of the top 5 classes: %(classes)s.")
            % {"classes": ", ".join(str(i) for i in allowed if i is not None)}
        )
    path = folder / f"cam-{class_index}.json"
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        pass
    model = cnn_models.get_cnn_model(model_key)
    result = model.explain(rgb, class_index)  # type: ignore[attr-defined]
    cam = _cam_payload(result, class_index)
    write_bytes(path, json.dumps(cam).encode())
    return cam


def _cam_payload(result: cnn_models.CamResult, index: int | None) -> dict[str, Any]:
    return {
        "label": result.label,
        "index": index,
        "overlay_url": png_data_url(result.overlay),
        "grid": result.grid,
    }


def _cam(model: cnn_models.LoadedCnn, rgb: np.ndarray) -> dict[str, Any] | None:
    """Grad-CAM of the model's top class as ``{"label", "overlay_url"}`` (torch
    classifiers only)."""
    explain = getattr(model, "explain", None)
    result = explain(rgb) if explain else None
    if result is None:
        return None
    return _cam_payload(result, result.index)


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
    write_bytes(path, png_bytes(image))
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


def cnn_samples(request: HttpRequest) -> tuple[list[dict[str, Any]], str]:
    """The catalogue's photos and the key to preselect: ``?sample=`` (a key, or an
    old file-stem name such as ``chelsea``), else ``DEFAULT_WIDGET_SAMPLE``."""
    return lesson_samples(), chosen_key(
        request.GET.get("sample"), DEFAULT_WIDGET_SAMPLE
    )


# ------------------------------------------------------------------ linked view

LINKED_MODEL = "efficientnet-lite0"  # the one network the linked view follows


class MapsGone(BadInput):
    """The cached maps a linked view refers to are not there (or not the user's)."""


def maps_id(scope: str, digest: str) -> str:
    """How the feature-map API names a cached run for the linked view."""
    return f"{scope}/{digest}"


def _cached_input(maps: str, owner_id: int | None) -> np.ndarray:
    """The 224 x 224 RGB the network saw for a cached run (``maps_id``)."""
    scope, _slash, digest = maps.partition("/")
    try:
        folder = run_dir(scope, digest, owner_id)
        summary = json.loads((folder / "run.json").read_bytes())
    except (FileNotFoundError, ValueError) as exc:
        raise MapsGone(_maps_gone()) from exc
    if summary.get("model") != LINKED_MODEL:
        raise BadInput(gettext("The linked view follows EfficientNet-Lite0 only."))
    bgr = cv2.imread(str(folder / "input.png"), cv2.IMREAD_COLOR)
    if bgr is None:
        raise MapsGone(_maps_gone())
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _maps_gone() -> str:
    return gettext(
        "These feature maps are no longer cached (or not yours): "
        "show the feature maps again."
    )


def linked_view(
    *,
    model_key: str,
    layer: str,
    channel: int,
    y: int,
    x: int,
    image_bytes: bytes | None = None,
    sample: str | None = None,
    maps: str | None = None,
    owner_id: int | None = None,
) -> dict[str, Any]:
    """One pixel of one feature map of EfficientNet-Lite0, linked to the photo
    (receptive field, the stem's dot product) and to the classes.

    The photo is an upload, a sample, or a cached feature-map run (``maps``, which
    the feature-map API returns as ``maps_id``: a user's runs are found in their own
    folder only). Raises ``BadInput`` for another model, a layer, channel or pixel
    outside the network, and ``MapsGone`` for a cached run that is not there.
    """
    if model_key != LINKED_MODEL:
        raise BadInput(gettext("The linked view follows EfficientNet-Lite0 only."))
    spec = cnn_models.get_spec(model_key)
    layer_spec = spec.layer(layer)
    if maps is not None:
        rgb = _cached_input(maps, owner_id)
    else:
        if sample is not None:
            image_bytes = sample_bytes(sample)
        if image_bytes is None:
            raise BadInput(gettext("Send either an image or a sample name."))
        rgb = decode_full_upload(image_bytes).rgb
    loaded: Any = cnn_models.get_cnn_model(model_key)
    _check_point(layer_spec, channel, y, x)
    stage = int(layer_spec.name.rpartition(".")[2])
    # ONNX Runtime (or the torch model when no export exists): the same view.
    view = loaded.linked_view(rgb, stage, channel, y, x)
    return _linked_payload(spec.key, layer_spec, view)


def _check_point(layer: cnn_models.LayerSpec, channel: int, y: int, x: int) -> None:
    """A channel and pixel inside the layer's map (the photo is always squashed to
    the network's input, so the declared shape is the real one)."""
    channels, height, width = layer.shape
    if channel >= channels:
        raise BadInput(
            gettext("%(layer)s has %(count)d channels: choose one from 0 to %(last)d.")
            % {"layer": layer.name, "count": channels, "last": channels - 1}
        )
    if y >= height or x >= width:
        raise BadInput(
            gettext(
                "Pixel (%(y)d, %(x)d) is outside the %(height)d×%(width)d map "
                "of %(layer)s."
            )
            % {"y": y, "x": x, "height": height, "width": width, "layer": layer.name}
        )


def _linked_payload(
    model_key: str, layer_spec: cnn_models.LayerSpec, view: Any
) -> dict[str, Any]:
    from demos.ml.imagenet_names import class_name

    language = get_language() or "en"
    dot = view.dot
    return {
        "model": model_key,
        "layer": layer_spec.name,
        "label": str(layer_spec.label),
        "channel": view.channel,
        "y": view.y,
        "x": view.x,
        "shape": list(view.shape),
        "value": round(view.value, 6),
        "input_size": list(view.input_size),
        "field": {
            "top": view.field.top,
            "left": view.field.left,
            "bottom": view.field.bottom,
            "right": view.field.right,
        },
        "dot": None
        if dot is None
        else {
            "origin": list(dot.origin),
            "pixels": dot.pixels,
            "inputs": _rounded(dot.inputs),
            "kernel": _rounded(dot.kernel),
            "bias": round(dot.bias, 6),
            "sums": _rounded(dot.sums),
            "pre_activation": round(dot.pre_activation, 6),
            "value": round(dot.value, 6),
        },
        "channel_mean": round(view.channel_mean, 6),
        "feeds_classifier": any("contribution" in row for row in view.top),
        "top": [
            {
                **{
                    key: round(value, 6) for key, value in row.items() if key != "index"
                },
                "index": row["index"],
                "label": class_name(row["index"], language),
            }
            for row in view.top
        ],
    }


def _rounded(values: Any) -> Any:
    if isinstance(values, list):
        return [_rounded(value) for value in values]
    return round(float(values), 6)
