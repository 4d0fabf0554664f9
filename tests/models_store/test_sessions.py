"""One builder sets every ONNX Runtime session's options (models_store/sessions.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper

from models_store.sessions import build_onnx_session


def identity_graph() -> bytes:
    x, y = (helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3]) for n in "xy")
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "identity", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def test_a_file_opens_on_the_cpu_with_the_threads_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "identity.onnx"
    path.write_bytes(identity_graph())
    session = build_onnx_session(path, 2)
    options = session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    assert options.log_severity_level == 2
    assert session.get_providers() == ["CPUExecutionProvider"]
    (out,) = session.run(None, {"x": np.ones((1, 3), np.float32)})
    assert out.tolist() == [[1.0, 1.0, 1.0]]


def test_a_serialized_graph_opens_with_at_least_one_thread_and_quiet_logs() -> None:
    session = build_onnx_session(identity_graph(), 0, log_severity=3)
    options = session.get_session_options()
    assert options.intra_op_num_threads == 1 and options.log_severity_level == 3
    (out,) = session.run(None, {"x": np.zeros((1, 3), np.float32)})
    assert out.tolist() == [[0.0, 0.0, 0.0]]
