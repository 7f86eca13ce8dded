"""One ONNX graph per grid model: onnxruntime's totals equal `model.predict` on grids of any valid size."""

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

import ednn  # noqa: E402 (after the skips)
from ednn.core.errors import EDNNError  # noqa: E402
from ednn.core.model import EDNN  # noqa: E402
from ednn.core.nets import build_net  # noqa: E402
from ednn.export.onnx import export_onnx  # noqa: E402

MODELS = Path(__file__).parents[3] / "models"


def session(path: Path) -> "ort.InferenceSession":
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def totals(graph: "ort.InferenceSession", x: np.ndarray) -> np.ndarray:
    """onnxruntime's totals of grids (N, *spatial, C), given channel first."""
    return graph.run(None, {"grids": np.ascontiguousarray(np.moveaxis(x, -1, 1), dtype=np.float32)})[0]


def domains(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Ising spins (n, *shape, 1): stripes of aligned spins, 10% flipped, so totals are far from zero."""
    stripes = np.where((np.arange(shape[0]) // 8) % 2, 1.0, -1.0).reshape(-1, *[1] * (len(shape) - 1))
    spins = np.broadcast_to(stripes, (n, *shape)) * rng.choice([1.0, -1.0], size=(n, *shape), p=[0.9, 0.1])
    return spins[..., None]


def small_model(
    ndim: int,
    focus: int,
    context: int,
    net: str = "dense",
    *,
    channels: int = 1,
    outputs: int = 1,
    padding: str = "periodic",
    readout: str | None = None,
    **options,
) -> EDNN:
    """A random EDNN of a registered tile network: scale 2.5, offsets -0.3 per site and 0.1·(c + 1)
    per unit of channel c's intensity."""
    torch.manual_seed(0)
    geometry = {"context": context} if net == "local_density" else {}
    raw = 3 if readout else outputs
    tile_net = build_net(
        net, tile=focus + 2 * context, ndim=ndim, channels=channels, outputs=raw, **geometry, **options
    )
    model = EDNN(
        tile_net,
        focus,
        context,
        ndim=ndim,
        channels=channels,
        outputs=outputs,
        padding=padding,
        scale=[2.5] * outputs,
        offset_per_site=[-0.3] * outputs,
        readout=readout,
    )
    model.target.offset_per_intensity.copy_(0.1 * torch.arange(1.0, channels + 1).expand(outputs, channels))
    return model.eval()


@pytest.fixture(scope="module")
def ising_graph(tmp_path_factory):
    model = ednn.load(MODELS / "ising-8x8-f1c1.safetensors")
    return model, session(export_onnx(model, tmp_path_factory.mktemp("onnx") / "ising.onnx"))


@pytest.fixture(scope="module")
def cube_graph(tmp_path_factory):
    """A 3-D dense model, f = 2, c = 3 (a context above the smallest valid size)."""
    model = small_model(3, 2, 3, hidden=[16, 8])
    return model, session(export_onnx(model, tmp_path_factory.mktemp("onnx") / "cube.onnx"))


def test_ising_graph_equals_predict_on_grids_larger_than_training_several_batch_sizes(ising_graph):
    model, graph = ising_graph
    rng = np.random.default_rng(0)
    for batch, shape in [(1, (16, 16)), (3, (32, 48)), (5, (64, 64)), (2, (8, 8))]:
        x = domains(rng, batch, shape)
        got = totals(graph, x)
        assert got.shape == (batch, 1) and got.dtype == np.float64
        np.testing.assert_allclose(got[:, 0], model.predict(x), rtol=1e-5)


def test_graph_axes_are_named_and_dynamic(ising_graph):
    _, graph = ising_graph
    (grids,), (out,) = graph.get_inputs(), graph.get_outputs()
    assert (grids.name, grids.shape, grids.type) == ("grids", ["N", 1, "L1", "L2"], "tensor(float)")
    assert (out.name, out.shape, out.type) == ("totals", ["N", 1], "tensor(double)")


def test_3d_dense_model_equals_predict_on_two_sizes(cube_graph):
    model, graph = cube_graph
    rng = np.random.default_rng(1)
    for batch, shape in [(2, (4, 6, 8)), (3, (8, 8, 8))]:
        x = rng.standard_normal((batch, *shape, 1)).astype(np.float32)
        np.testing.assert_allclose(totals(graph, x)[:, 0], model.predict(x), rtol=1e-5)


@pytest.mark.parametrize(
    "shape, failure",
    [((5, 4, 4), "Fail"), ((2, 2, 2), "InvalidArgument")],
    ids=["not whole focus regions: a reshape fails", "context above the size: the tiles' gather is out of range"],
)
def test_a_size_predict_refuses_makes_the_graph_fail_not_give_a_number(cube_graph, shape, failure):
    model, graph = cube_graph
    x = np.ones((1, *shape, 1), np.float32)
    with pytest.raises(EDNNError):
        model.predict(x)
    with pytest.raises(getattr(ort.capi.onnxruntime_pybind11_state, failure)):
        totals(graph, x)


@pytest.mark.parametrize(
    "options",
    [
        dict(net="dense", readout="qeq", hidden=[8]),
        dict(net="local_density", widths=(4, 8), hidden=8),
        dict(net="lean_cnn", channels=2, outputs=2, padding="zeros", widths=(4, 4), hidden=8),
    ],
    ids=["qeq readout", "density over the grid", "zero padding, 2 channels, 2 outputs"],
)
def test_readouts_densities_and_zero_padding_export(options, tmp_path):
    model = small_model(2, 4, 4, **options)
    graph = session(export_onnx(model, tmp_path / "m.onnx"))
    x = np.random.default_rng(2).standard_normal((2, 12, 16, model.channels)).astype(np.float32)
    expected = model.predict(x).reshape(2, -1)
    np.testing.assert_allclose(totals(graph, x), expected, rtol=1e-5)


def test_atom_models_are_refused_in_one_line(tmp_path):
    model = ednn.load(MODELS / "hexsheets-gfn1xtb.safetensors")
    with pytest.raises(EDNNError, match="atom models do not export: rendering atoms into images") as error:
        export_onnx(model, tmp_path / "m.onnx")
    assert "\n" not in str(error.value) and not (tmp_path / "m.onnx").exists()


class Branching(torch.nn.Module):
    """A tile network whose output depends on a branch on the data: it does not trace."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(9, 1)

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        out = self.linear(tiles.flatten(1))
        return out if out.sum() > 0 else -out


class OwnEvaluation(torch.nn.Linear):
    """A tile network evaluated by a strategy of its own."""

    evaluation = object()


@pytest.mark.parametrize(
    "net, message",
    [
        (Branching(), r"the Branching tile network does not export: its evaluation does not trace \("),
        (OwnEvaluation(9, 1), r"the OwnEvaluation tile network does not export: its evaluation \(object\)"),
    ],
)
def test_networks_whose_evaluation_cannot_trace_are_refused_in_one_line(net, message, tmp_path):
    with pytest.raises(EDNNError, match=message) as error:
        export_onnx(EDNN(net, 1, 1), tmp_path / "m.onnx")
    assert "\n" not in str(error.value) and not list(tmp_path.iterdir())


def test_without_onnxruntime_the_error_names_it(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)
    with pytest.raises(EDNNError, match="exporting to ONNX needs onnx, onnxscript and onnxruntime"):
        export_onnx(small_model(2, 1, 1, hidden=[4]), tmp_path / "m.onnx")
