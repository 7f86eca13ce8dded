"""Test helpers for users of ednn: check that a model is extensive."""

from __future__ import annotations

import numpy as np

from ednn.core.model import EDNN


def assert_extensive(model: EDNN, x: np.ndarray | None = None, k: int = 3, rtol: float = 1e-6,
                     seed: int = 0) -> None:
    """Assert that x tiled k times along every spatial axis predicts k^ndim × predict(x).

    x: grids (N, *spatial[, C]) the model accepts; by default random ±1 grids of
    the smallest size that holds one tile. Holds exactly for periodic padding and a
    tile network without batch-dependent behaviour.
    """
    if x is None:
        rng = np.random.default_rng(seed)
        edge = model.focus * max(1, -(-model.context // model.focus))
        x = rng.choice([-1.0, 1.0], size=(4, *[edge] * model.ndim, model.channels))
    grid = model.as_grid(x)
    big = np.tile(grid, (1, *[k] * model.ndim, 1))
    small, large = model.predict(grid), model.predict(big)
    expected = small * k**model.ndim
    scale = np.maximum(np.abs(expected), 1e-12)
    worst = float(np.max(np.abs(large - expected) / scale))
    assert worst <= rtol, f"not extensive: tiling {k}^{model.ndim} times changed the total by a relative {worst:.3g}"
