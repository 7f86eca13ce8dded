"""Test helpers for users of ednn: check that a model is extensive, and that an atom model is
invariant under permutations and whole-region translations and extensive over supercells."""

from __future__ import annotations

import numpy as np

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN


def assert_extensive(model: EDNN, x: np.ndarray | None = None, k: int = 3, rtol: float = 1e-6, seed: int = 0) -> None:
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


# ---- atom models -------------------------------------------------------------------------
# These use only the public surface of an atom model (`predict_atoms`, `focus`, `imaging`), so
# they check any object that offers it, a wrapped or patched model included.


def _structures(atoms) -> list:
    """One ase.Atoms or a sequence of them, as a list of copies."""
    from ase import Atoms

    return [atoms.copy()] if isinstance(atoms, Atoms) else [a.copy() for a in atoms]


def _worst_relative(actual: np.ndarray, expected: np.ndarray) -> tuple[float, int]:
    """Largest |actual − expected| / |expected| (expected floored at 1e-12) and its structure."""
    actual = np.asarray(actual, np.float64).reshape(len(actual), -1)
    expected = np.asarray(expected, np.float64).reshape(len(expected), -1)
    relative = (np.abs(actual - expected) / np.maximum(np.abs(expected), 1e-12)).max(axis=1)
    return float(relative.max()), int(relative.argmax())


def assert_permutation_invariant(model, atoms, permutations: int = 3, rtol: float = 1e-6, seed: int = 0) -> None:
    """Assert that shuffling the order of the atoms leaves `model.predict_atoms` unchanged.

    atoms: one ase.Atoms or a list (each must fit the model's grid, see
    `AtomImaging.grid_shape`); `permutations` random orders of each are predicted and
    compared with the original order, relative to the original energy (eV for ednn's atom
    models). Holds to float32 rounding: the image is a sum of one Gaussian per atom and the
    network sees only the image, so the order changes nothing but the order of additions.
    A model that reads atoms by index (a per-atom term, a bug in a wrapper) fails it.
    """
    structures = _structures(atoms)
    reference = model.predict_atoms(structures)
    rng = np.random.default_rng(seed)
    for k in range(permutations):
        shuffled = [s[rng.permutation(len(s))] for s in structures]
        worst, where = _worst_relative(model.predict_atoms(shuffled), reference)
        assert worst <= rtol, (
            f"not permutation invariant: shuffling the atoms of structure {where} (order {k}) "
            f"changed its energy by a relative {worst:.3g} (rtol {rtol:g})"
        )


def assert_supercell_extensive(model, atoms, reps: tuple[int, int] = (2, 2), rtol: float = 1e-6) -> None:
    """Assert that an (rx, ry, 1) supercell predicts rx·ry × the energy of its cell.

    atoms: one ase.Atoms or a list of periodic sheets that fit the model's grid; both the
    cell and its supercell are predicted with `model.predict_atoms`, and the supercell's
    energy (eV for ednn's atom models) is compared with rx·ry × the cell's, relative to the
    latter. Holds to float32 rounding for periodic models: the supercell's image is the
    cell's image tiled rx × ry times, so its tiles are the cell's tiles, each rx·ry times
    (an extensive readout, charge equilibration included, repeats the cell's solution).
    A supercell above the size that `predict_atoms` streams block by block is compared
    through that path.
    """
    rx, ry = (int(r) for r in reps)
    if rx < 1 or ry < 1:
        raise EDNNError(f"reps must be whole numbers of at least 1, got {reps}")
    structures = _structures(atoms)
    expected = rx * ry * np.asarray(model.predict_atoms(structures), np.float64)
    supercells = [s.repeat((rx, ry, 1)) for s in structures]
    worst, where = _worst_relative(model.predict_atoms(supercells), expected)
    assert worst <= rtol, (
        f"not extensive: the {rx} × {ry} supercell of structure {where} predicts a total that "
        f"differs from {rx * ry} × its cell's by a relative {worst:.3g} (rtol {rtol:g})"
    )


def assert_whole_region_translation_invariant(
    model, atoms, shifts=((1, 0), (0, 1), (2, -3)), rtol: float = 1e-6
) -> None:
    """Assert that translating the atoms by whole focus regions leaves the energy unchanged.

    A focus region is `model.focus` pixels of `model.imaging.pixel_size` Å along each axis;
    `shifts`: (kx, ky) whole regions to move every atom by, in the plane. The pixel grid is
    fixed to the cell, so such a move rolls the image by whole focus regions, and the tiles
    are the same tiles in another order: the total holds to float32 rounding (the moved
    positions round differently). Translations by a fraction of a region move atoms within
    the pixels and change a model's prediction a little; that is a property of the model
    to measure, not to assert (see `EDNN.predict_atoms(placements=...)`).
    """
    structures = _structures(atoms)
    region = model.focus * np.asarray(model.imaging.pixel_size, np.float64)
    reference = model.predict_atoms(structures)
    for kx, ky in shifts:
        moved = [s.copy() for s in structures]
        for s in moved:
            s.positions[:, :2] += region * np.array([kx, ky], np.float64)
        worst, where = _worst_relative(model.predict_atoms(moved), reference)
        assert worst <= rtol, (
            f"not invariant under whole-region translations: moving structure {where} by "
            f"({kx}, {ky}) focus regions ({kx * region[0]:.4f}, {ky * region[1]:.4f} Å) changed "
            f"its energy by a relative {worst:.3g} (rtol {rtol:g})"
        )
