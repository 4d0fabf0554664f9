"""The one place an ONNX Runtime session's options are set.

Pure module (never ``django``; ``onnxruntime`` is imported when a session is
built): ``loading.onnx_session`` builds the portal's sessions with it, and the
detectors' scripts and tests open a file through it with the same options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_onnx_session(
    source: Path | bytes, threads: int = 1, *, log_severity: int = 2
) -> Any:
    """A CPU ``onnxruntime.InferenceSession`` of a file or a serialized graph.

    ``threads`` intra-op threads (at least one), one inter-op thread;
    ``log_severity`` is onnxruntime's level (2 = warnings, its default; 3 = errors).
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = log_severity
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        source if isinstance(source, bytes) else str(source),
        sess_options=options,
        providers=["CPUExecutionProvider"],
    )
