"""The torch.export program (.pt2): its totals equal `model.predict` on grids of any valid size."""

from pathlib import Path

import numpy as np
import pytest
import torch

import ednn
from ednn.core.errors import EDNNError
from ednn.export.program import export_torch

MODELS = Path(__file__).parents[3] / "models"


def test_saved_program_equals_predict_on_larger_grids_and_batches(tmp_path):
    model = ednn.load(MODELS / "ising-8x8-f1c1.safetensors")
    path = export_torch(model, tmp_path / "ising.pt2")
    run = torch.export.load(path).module()
    rng = np.random.default_rng(0)
    for batch, shape in [(1, (16, 16)), (4, (32, 48))]:
        x = rng.choice([-1.0, 1.0], size=(batch, *shape), p=[0.8, 0.2]).astype(np.float32)
        with torch.no_grad():
            got = run(torch.from_numpy(x)[:, None]).numpy()
        assert got.shape == (batch, 1) and got.dtype == np.float64
        np.testing.assert_allclose(got[:, 0], model.predict(x), rtol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["ising.pt2"]


def test_atom_models_are_refused(tmp_path):
    with pytest.raises(EDNNError, match="atom models do not export"):
        export_torch(ednn.load(MODELS / "hexsheets-gfn1xtb.safetensors"), tmp_path / "m.pt2")
