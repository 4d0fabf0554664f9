"""The one per-process loader: ONNX sessions and torch modules, each built once.

Everything the portal runs comes from here, keyed by its registry key: ONNX Runtime
sessions (``onnx_session``, optionally with intermediate tensors appended to the
graph's outputs) and torch modules (``torch_module``), built on first use from a
verified file (``store.ready_path``) and kept in one dict behind one re-entrant lock,
so concurrent first requests build a model once and a builder may itself ask the
loader for another model. Callers that derive something costly from a model (a
detector wrapper, a ``torch.fx`` feature extractor) keep it in the same cache through
``cached`` (or ``recent``, which keeps only the last few: one model per student's
run must not stay in memory for good). Torch files load with ``torch.load(...,
map_location="cpu", weights_only=True)`` (no pickle code execution) and go to
``eval()``; callers run them under ``torch.inference_mode()``.

Nothing loads in ``AppConfig.ready()`` and torch, torchvision, onnx and onnxruntime
are imported inside the functions that build models, so importing this module (or
the URLconf) costs nothing. This module knows files and runtimes only: it imports
nothing from ``demos``; project-defined architectures (``family="torch"``) are passed
in by the caller as ``build``.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings

from models_store import store
from models_store.registry import PERSON_DETECTION, ModelSpec, get_spec
from models_store.sessions import build_onnx_session
from portal.lib.errors import ServiceUnavailable

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

T = TypeVar("T")

_cache: dict[Hashable, Any] = {}
_recent: OrderedDict[Hashable, Any] = OrderedDict()  # see ``recent``
# Re-entrant: building a detector or a feature extractor asks for its model inside.
_lock = threading.RLock()
_MISSING = object()


class GraphMismatch(ServiceUnavailable):
    """An ONNX file lacks tensors the caller asked for: not the file they came from."""


def cached(cache_key: Hashable, build: Callable[[], T]) -> T:
    """The object under ``cache_key``, made by ``build()`` once per process.

    The fast path reads the dict without the lock; the first caller builds under the
    loader's lock while the others wait for it and then share the result.
    """
    value = _cache.get(cache_key, _MISSING)
    if value is _MISSING:
        with _lock:
            value = _cache.get(cache_key, _MISSING)
            if value is _MISSING:
                value = build()
                _cache[cache_key] = value
    return value  # type: ignore[return-value]


def recent(cache_key: Hashable, build: Callable[[], T], *, keep: int) -> T:
    """Like ``cached``, for models there are many of (one per student's run): only
    the ``keep`` most recently used stay built, so a worker's memory does not grow
    with their number. Built under the loader's lock, so two first requests for
    one model build it once."""
    with _lock:
        value = _recent.get(cache_key, _MISSING)
        if value is _MISSING:
            value = build()
            _recent[cache_key] = value
            while len(_recent) > max(1, keep):
                _recent.popitem(last=False)
        else:
            _recent.move_to_end(cache_key)
    return value  # type: ignore[return-value]


def clear_cache() -> None:
    """Drop every built model (tests, and after retraining a bundled model)."""
    with _lock:
        _cache.clear()
        _recent.clear()


def threads() -> int:
    """Intra-op threads per model (``TORCH_THREADS``, shared by torch and ONNX)."""
    return max(1, int(getattr(settings, "TORCH_THREADS", 1)))


# ------------------------------------------------------------------ ONNX


def onnx_session(key: str, *, extra_outputs: Sequence[str] = ()) -> Any:
    """An ``onnxruntime.InferenceSession`` for an ONNX spec, built once per outputs.

    ``extra_outputs`` names intermediate tensors to append to ``graph.output`` (the
    CNN lessons' "detector's own eyes"); the session then returns them too, after
    the model's own outputs. Raises ``WeightsUnavailable`` when the file is missing
    or corrupt and ``GraphMismatch`` when a tensor does not exist in the graph.
    """
    spec = _spec_of_family(key, "onnx")
    path = store.ready_path(key)
    extra = tuple(extra_outputs)
    log_severity = spec.ort_log_severity
    return cached(
        ("onnx-session", spec.key, str(path), extra),
        lambda: _build_onnx_session(path, extra, log_severity),
    )


def onnx_initializers(key: str, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Named initializers (weights) of an ONNX spec's graph as numpy arrays."""
    spec = _spec_of_family(key, "onnx")
    path = store.ready_path(key)
    wanted = frozenset(names)

    def build() -> dict[str, np.ndarray]:
        import onnx
        from onnx import numpy_helper

        graph = onnx.load(str(path)).graph
        return {
            init.name: numpy_helper.to_array(init)
            for init in graph.initializer
            if init.name in wanted
        }

    return cached(("onnx-initializers", spec.key, str(path), wanted), build)


def _build_onnx_session(
    path: Path, extra_outputs: tuple[str, ...], log_severity: int = 2
) -> Any:
    source: Path | bytes = path
    if extra_outputs:
        import onnx

        graph_model = onnx.load(str(path))
        produced = {name for node in graph_model.graph.node for name in node.output}
        missing = [name for name in extra_outputs if name not in produced]
        if missing:
            raise GraphMismatch(
                f"{path.name} has no tensor(s) {', '.join(missing)}: not the file "
                "these layers were picked from."
            )
        graph_model.graph.output.extend(
            onnx.ValueInfoProto(name=name) for name in extra_outputs
        )
        source = graph_model.SerializeToString()
    return build_onnx_session(source, threads(), log_severity=log_severity)


# ------------------------------------------------------------------ torch


def torch_module(
    key: str,
    *,
    build: Callable[[], nn.Module] | None = None,
    device: str = "cpu",
) -> nn.Module:
    """The torch model of a spec with its verified weights, in ``eval()`` on ``device``.

    torchvision specs are built from ``spec.builder`` with ``weights=None``;
    project-defined ones (``family="torch"``) need ``build``, a function returning
    the untrained architecture. Raises ``WeightsUnavailable`` when the file is
    missing or corrupt.
    """
    spec = get_spec(key)
    if spec.family not in ("torchvision", "torch"):
        raise ValueError(f"{key} is not a torch model (family {spec.family!r})")
    if spec.family == "torch" and build is None:
        raise ValueError(f"{key} is defined in this project: pass build=")
    path = store.ready_path(key)
    return cached(
        ("torch-module", spec.key, str(path), device),
        lambda: _build_torch_module(spec, path, build, device),
    )


def _build_torch_module(
    spec: ModelSpec,
    path: Path,
    build: Callable[[], nn.Module] | None,
    device: str,
) -> nn.Module:
    import torch

    torch.set_num_threads(threads())
    model = build() if build is not None else torchvision_architecture(spec)
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state_dict)
    # Loaded on the CPU (map_location) first, then moved: works for any device.
    return model.to(device).eval()


def torchvision_architecture(spec: ModelSpec) -> nn.Module:
    """``spec.builder(weights=None, ...)``: the untrained torchvision model."""
    module_name, _sep, function_name = (spec.builder or "").rpartition(".")
    builder = getattr(importlib.import_module(module_name), function_name)
    kwargs = dict(spec.builder_kwargs)
    if spec.task == PERSON_DETECTION:
        kwargs.setdefault("weights_backbone", None)
    return builder(weights=None, num_classes=len(spec.categories), **kwargs)


def _spec_of_family(key: str, family: str) -> ModelSpec:
    spec = get_spec(key)
    if spec.family != family:
        raise ValueError(f"{key} is not an {family} model (family {spec.family!r})")
    return spec
