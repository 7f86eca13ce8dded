"""Training and prediction on 3-D grids (cubic Ising lattices)."""

import numpy as np
import pytest
import torch

import ednn
from ednn.core.errors import EDNNError
from ednn.systems.ising import generate_ising_dataset, ising_energy
from ednn.train.fit import EDNNTask, GridSet, TilePatterns, fit_target_scaling
from ednn.train.workflow import build_model, train_on_file


def cubic_spins(n: int, size: int, seed: int, up: float | None = None) -> np.ndarray:
    """Random ±1 lattices (n, size, size, size); `up`: the probability of +1 (random per lattice if None)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=(n, 1, 1, 1)) if up is None else up
    return np.where(rng.uniform(size=(n, size, size, size)) < p, 1, -1).astype(np.int8)


def test_a_tiny_3d_model_trains_and_predicts_other_sizes(tmp_path):
    data = generate_ising_dataset(
        tmp_path / "cubic.h5", size=4, n_configs=60, t_min=3.0, t_max=6.0, seed=0, chunk_size=30, progress=False, dim=3
    )
    out = tmp_path / "model.safetensors"
    train_on_file(data, out, tmp_path / "run", focus=1, context=1, epochs=2, batch_size=16, net_options={"hidden": [8]})
    model = ednn.load(out)
    assert model.ndim == 3 and model.info["data"]["spatial_shape"] == [4, 4, 4]
    x = cubic_spins(3, 6, 1)
    predicted = model.predict(x)
    assert predicted.shape == (3,) and np.all(np.isfinite(predicted))
    assert model.predict(x[:, None].repeat(2, 1).reshape(3, 12, 6, 6)).shape == (3,)


def test_3d_tile_patterns_give_the_sums_of_every_tile():
    x = cubic_spins(40, 4, 2, up=0.97)  # nearly ordered: few distinct 3×3×3 tiles
    model = build_model(x, 1, 1, net_options={"hidden": [8, 8]})
    data = GridSet.from_numpy(model, x, ising_energy(x))
    table = TilePatterns.find(model, data, batch_size=40)
    assert table is not None and table.patterns.shape[1:] == (1, 3, 3, 3)
    assert torch.equal(table.patterns[table.index], model.tiles(data.x).reshape(40, 64, 1, 3, 3, 3))
    batch = (torch.arange(40), data.x, data.y)
    with_patterns = EDNNTask(model, 1e-3, 1e-6, 1, data, {"train": table})._sums(batch, "train")
    every_tile = EDNNTask(model, 1e-3, 1e-6, 1, data, {"train": None})._sums(batch, "train")
    torch.testing.assert_close(with_patterns, every_tile)
    torch.testing.assert_close(every_tile, model(data.x))


@pytest.mark.parametrize(("focus", "context"), [(1, 1), (2, 1)])
def test_the_sum_is_invariant_under_periodic_shifts_by_whole_tiles_in_3d(focus, context):
    torch.manual_seed(0)
    x = cubic_spins(4, 8, 3)
    model = build_model(x, focus, context, net_options={"hidden": [16]})
    fit_target_scaling(model, GridSet.from_numpy(model, x, ising_energy(x)))
    model.eval()
    reference = model.predict(x)
    for shift in [(focus, 0, 0), (0, 3 * focus, 0), (focus, 2 * focus, 3 * focus)]:
        np.testing.assert_allclose(model.predict(np.roll(x, shift, axis=(1, 2, 3))), reference, rtol=1e-5)


def test_grids_of_the_other_dimension_are_refused_naming_both():
    square, cubic = np.ones((2, 4, 4), dtype=np.int8), np.ones((2, 4, 4, 4), dtype=np.int8)
    model_2d = build_model(square, 1, 1, net_options={"hidden": [4]})
    model_3d = build_model(cubic, 1, 1, net_options={"hidden": [4]})
    with pytest.raises(EDNNError, match=r"this 2-D model with 1 channel expects \(N, L1, L2, 1\) .*, not 3-D grids$"):
        model_2d.predict(cubic)
    with pytest.raises(
        EDNNError, match=r"this 3-D model with 1 channel expects \(N, L1, L2, L3, 1\) .*, not 2-D grids$"
    ):
        model_3d.predict(square)
