"""Writes the small ONNX models the tests import (run with Debian's python3-onnx; the .onnx files are committed).

    /usr/bin/python3 tests/RuntimeSentinel.TestCommon/Onnx/make_fixtures.py

Every model is a squared distance from a fixed centre, so its score is known: sum((x - centre)^2) over the inputs.
"""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).parent


def distance(name, width, output_shape, centre_value=0.5):
    centre = np.full(width, centre_value, dtype=np.float32)
    nodes = [
        helper.make_node("Sub", ["features", "centre"], ["d"]),
        helper.make_node("Mul", ["d", "d"], ["d2"]),
        helper.make_node("ReduceSum", ["d2", "axes"], ["score"], keepdims=0),
    ]
    outputs = [helper.make_tensor_value_info("score", TensorProto.FLOAT, output_shape)]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", width])],
        outputs,
        [numpy_helper.from_array(centre, "centre"), numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, HERE / f"{name}.onnx")


# Four features (events, exec, connect, bytes_out), one float per row: the model the tests import.
distance("distance4", 4, ["N"])
# The same graph over three inputs: a card listing four features does not match its input.
distance("distance3", 3, ["N"])
# One row gives four values (float [N, 4]): not one float per row.
d = np.full(4, 0.5, dtype=np.float32)
graph = helper.make_graph(
    [helper.make_node("Sub", ["features", "centre"], ["d"]), helper.make_node("Mul", ["d", "d"], ["score"])],
    "rowwise4",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 4])],
    [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 4])],
    [numpy_helper.from_array(d, "centre")],
)
m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures.py")
m.ir_version = 8
onnx.checker.check_model(m)
onnx.save(m, HERE / "rowwise4.onnx")
