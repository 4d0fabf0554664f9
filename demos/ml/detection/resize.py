"""PicoDet's ONNX graph re-shaped for another square input size.

Pure module: onnx and onnxruntime, never ``django``. The PaddleDetection exports
fix the input at 1x3x416x416 (or 320) and bake the feature-map sides (52, 26, 13
at 416) into their channel-shuffle ``Reshape`` constants. The convolutions
themselves do not care about the size, so rewriting those constants (52 → S/8,
26 → S/16, 13 → S/32) and the declared input/output shapes gives the same weights
at input side ``S``: a 416 model fed 640 pixels sees small people 1.5x bigger.
The file on disk is never changed (its SHA-256 stays verified); the re-shaped graph
lives only in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models_store.sessions import build_onnx_session


def resized_picodet_graph(path: Path, size: int) -> bytes:
    """The serialised ONNX model of ``path`` re-shaped to a ``size`` input.

    ``size`` must be a multiple of 32 (the deepest shuffle stage's stride).
    Raises ``ValueError`` otherwise, or when the graph is not a PicoDet export.
    """
    import onnx
    from onnx import numpy_helper

    if size <= 0 or size % 32:
        raise ValueError(f"PicoDet input size must be a multiple of 32, got {size}")
    model = onnx.load(str(path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    old = dims[2].dim_value
    if old <= 0 or old % 32:
        raise ValueError(f"{path.name}: not a fixed-size PicoDet graph")
    sides = {old // stride: size // stride for stride in (8, 16, 32)}
    for init in model.graph.initializer:
        shape = numpy_helper.to_array(init)
        if (
            shape.dtype == np.int64
            and shape.ndim == 1
            and len(shape) in (4, 5)
            and shape[0] == 1
            and shape[-1] == shape[-2]
            and int(shape[-1]) in sides
        ):
            patched = shape.copy()
            patched[-2:] = sides[int(shape[-1])]
            init.CopyFrom(numpy_helper.from_array(patched, init.name))
    for dim in dims[2:]:
        dim.dim_value = size
    del model.graph.value_info[:]
    for output in model.graph.output:
        output.type.tensor_type.ClearField("shape")
    return model.SerializeToString()


def picodet_session(path: Path, size: int, threads: int = 1) -> Any:
    """An onnxruntime CPU session of the PicoDet file ``path`` for ``size`` inputs."""
    model = path.read_bytes() if size == _declared_size(path) else None
    return build_onnx_session(
        model if model is not None else resized_picodet_graph(path, size),
        threads,
        log_severity=3,  # the export lists its weights as inputs too
    )


def _declared_size(path: Path) -> int:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return model.graph.input[0].type.tensor_type.shape.dim[2].dim_value
