"""One ONNX graph of a grid model: grids (N, C, *spatial) float32 in, totals (N, outputs) float64 out.

The graph is the `torch.export` program of `ednn.export.totals.GridTotals` converted by the dynamo
ONNX exporter (`torch.onnx.export(..., dynamo=True)`), with dynamic batch and spatial axes. The
runtime caller must give spatial sizes that are whole numbers of focus regions and (periodic
padding) at least the context: the graph cannot check them, but such a size makes it fail
(a reshape or a gather out of range), not give a number.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.export.totals import check_agreement, export_program, net_name, quiet_torch
from ednn.io.atomic import atomic_path

#: ONNX operator set of the exported graph.
OPSET = 18
INPUT_NAME, OUTPUT_NAME = "grids", "totals"


def export_onnx(model: EDNN, path: str | os.PathLike) -> Path:
    """Write `model` as one ONNX graph to `path` (atomically), checked against `model.predict` with
    onnxruntime on two grid sizes; returns the path."""
    try:
        import onnx  # noqa: F401 (the exporter needs it)
        import onnxruntime
        import onnxscript  # noqa: F401 (the exporter needs it)
    except ImportError as missing:
        raise EDNNError(f"exporting to ONNX needs onnx, onnxscript and onnxruntime ({missing})") from None
    import torch

    path = Path(path)
    program = export_program(model)
    spatial = [f"L{d + 1}" for d in range(model.ndim)]
    try:
        with quiet_torch():
            onnx_program = torch.onnx.export(
                program,
                dynamo=True,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes=({0: "N", **{2 + d: name for d, name in enumerate(spatial)}},),
                verbose=False,
            )
    except Exception as error:  # the exporter raises its own types for ops it cannot translate
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise EDNNError(f"the {net_name(model)} tile network does not convert to ONNX ({reason})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        onnx_program.save(str(tmp), external_data=False)
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])

        def totals(x: np.ndarray) -> np.ndarray:
            return session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]

        check_agreement(model, totals, "ONNX graph")
    return path
