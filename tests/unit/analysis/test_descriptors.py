import numpy as np
from ase.build import make_supercell

from ednn.analysis.descriptors import (
    BOND_CUTOFF,
    BOND_LENGTH,
    FEATURE_NAMES,
    bond_angle_features,
    feature_matrix,
    fit_linear,
)
from ednn.systems.porous import starting_geometry
from ednn.systems.sheets import honeycomb


def test_pristine_graphene_has_unstrained_bonds_and_120_degree_angles():
    sheet, _ = honeycomb((4, 3), a=2.46)
    f = dict(zip(FEATURE_NAMES, bond_angle_features(sheet)))
    n = len(sheet)
    assert f["atoms"] == n and f["bonds"] == 1.5 * n and f["atoms without 2 or 3 bonds"] == 0
    np.testing.assert_allclose(f["sum cos"], -0.5 * 3 * n)
    for name in ("sum d", "sum d^2", "sum (cos+1/2)^2", "sum (cos+1/2)^3", "sum (cos+1/2)(d1+d2)"):
        assert abs(f[name]) < 1e-9


def test_features_are_extensive_and_invariant_under_translation():
    atoms = starting_geometry((6, 4), 0, 3)
    atoms.positions[:, :2] += np.random.default_rng(0).normal(0, 0.05, (len(atoms), 2))
    one = bond_angle_features(atoms)
    four = bond_angle_features(make_supercell(atoms, np.diag([2, 2, 1])))
    np.testing.assert_allclose(four[1:], 4 * one[1:], rtol=1e-9, atol=1e-9)
    moved = atoms.copy()
    moved.positions[:, :2] += [3.3, -1.7]
    np.testing.assert_allclose(bond_angle_features(moved), one, rtol=1e-9, atol=1e-9)
    # against a brute-force pass over every pair (minimum image in the plane): coordinations, Σδ, Σδ²
    delta = atoms.positions[:, None, :2] - atoms.positions[None, :, :2]
    lengths = atoms.cell.lengths()[:2]
    d = np.linalg.norm(delta - lengths * np.round(delta / lengths), axis=-1)
    bonded = (d < BOND_CUTOFF) & ~np.eye(len(atoms), dtype=bool)
    coordination = bonded.sum(1)
    assert one[3] == np.sum((coordination != 2) & (coordination != 3)) == 0  # pruned: only 2- and 3-bonded
    stretch = d[np.triu(bonded)] - BOND_LENGTH
    assert one[2] == len(stretch)
    np.testing.assert_allclose(one[4:6], [stretch.sum(), (stretch**2).sum()], rtol=1e-12)
    assert one[5] > 1e-3  # displaced by 0.05 Å: strained bonds, so the comparison above is not 0 = 0


def test_linear_fit_recovers_weights_of_exactly_linear_energies():
    rng = np.random.default_rng(1)
    structures = []
    for k in range(30):
        atoms = starting_geometry((6, 4), 1, k)
        atoms.positions[:, :2] += rng.normal(0, 0.04, (len(atoms), 2))
        structures.append(atoms)
    x = feature_matrix(structures)
    weights = rng.normal(size=x.shape[1]) * np.array([1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    energies = x @ weights
    np.testing.assert_allclose(x @ fit_linear(x, energies), energies, rtol=1e-8, atol=1e-6)
