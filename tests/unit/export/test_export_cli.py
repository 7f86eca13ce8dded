"""`ednn export`, called directly (click's runner): formats, file names, refusals."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ednn
from ednn.cli.export import export
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    model = EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, scale=2.0, offset_per_site=0.5)
    return ednn.save_model(model, tmp_path / "m.safetensors")


def invoke(*args):
    return CliRunner().invoke(export, [str(a) for a in args])


def test_onnx_export_writes_the_graph_and_says_its_layout(model_file, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    result = invoke(model_file, "--format", "onnx", "-o", tmp_path / "out" / "m.onnx")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"wrote {tmp_path / 'out' / 'm.onnx'} (onnx: grids (N, 1, *spatial) float32 → totals (N, 1) float64)\n"
    )
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(2, 1, 12, 20)).astype(np.float32)
    got = ort.InferenceSession(str(tmp_path / "out" / "m.onnx")).run(None, {"grids": x})[0]
    np.testing.assert_allclose(got[:, 0], ednn.load(model_file).predict(x[:, 0]), rtol=1e-5)


def test_torch_export_writes_a_pt2_program(model_file, tmp_path):
    result = invoke(model_file, "--format", "torch", "-o", tmp_path / "m.pt2")
    assert result.exit_code == 0, result.output
    assert torch.export.load(tmp_path / "m.pt2").module() is not None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "onnx", "-o", "m.pt2"], r"m.pt2: the file name must end in .onnx"),
        (["--format", "torch", "-o", "m.onnx"], r"m.onnx: the file name must end in .pt2"),
    ],
)
def test_a_file_name_of_the_other_format_is_refused(model_file, tmp_path, args, message):
    result = invoke(model_file, *args[:-1], tmp_path / args[-1])
    assert isinstance(result.exception, EDNNError) and message in str(result.exception)


def test_the_model_is_never_written_over(tmp_path, model_file):
    same = model_file.rename(tmp_path / "m.onnx")
    before = same.read_bytes()
    result = invoke(same, "-o", same)
    assert isinstance(result.exception, EDNNError)
    assert str(result.exception) == f"{same} is the model being exported: write the export to another file"
    assert same.read_bytes() == before


def test_help_names_the_layout():
    result = invoke("--help")
    assert result.exit_code == 0 and "float32 (N, C, *spatial)" in result.output
