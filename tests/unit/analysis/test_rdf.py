"""g(r) of planar periodic structures."""

import numpy as np
import pytest
from ase import Atoms

from ednn.analysis.rdf import peaks, radial_distribution
from ednn.core.errors import EDNNError
from ednn.systems.sheets import LATTICE_A, honeycomb


def test_random_points_give_g_of_one():
    rng = np.random.default_rng(0)
    cell = np.diag([20.0, 20.0, 10.0])
    frames = [
        Atoms("C200", positions=np.column_stack([rng.uniform(0, 20, (200, 2)), np.zeros(200)]), cell=cell, pbc=True)
        for _ in range(50)
    ]
    r, g = radial_distribution(frames, r_max=8.0, bin_width=0.5)
    np.testing.assert_allclose(g[2:], 1.0, atol=0.05)


def test_honeycomb_peaks_sit_at_its_neighbour_distances():
    rng = np.random.default_rng(1)
    sheet = honeycomb((5, 3))[0]
    frames = []
    for _ in range(40):
        atoms = sheet.copy()
        atoms.positions[:, :2] += rng.normal(0, 0.03, (len(atoms), 2))
        frames.append(atoms)
    r, g = radial_distribution(frames, r_max=3.5, bin_width=0.005)
    found = peaks(r, g, 3)
    expected = [LATTICE_A / np.sqrt(3), LATTICE_A, 2 * LATTICE_A / np.sqrt(3)]
    np.testing.assert_allclose([p for p, _ in found], expected, atol=0.01)
    assert found[0][1] > found[2][1]


def test_bad_input():
    sheet = honeycomb((5, 3))[0]
    with pytest.raises(EDNNError, match="half the shorter"):
        radial_distribution([sheet], r_max=7.0)
    with pytest.raises(EDNNError, match="no frames"):
        radial_distribution([])
    r, g = radial_distribution([sheet], r_max=2.0)
    with pytest.raises(EDNNError, match="peaks"):
        peaks(r, g, 3)
