"""Error summaries on small arrays whose medians and means are worked out by hand."""

import numpy as np
import pytest

from ednn.analysis.metrics import atom_error_summary, error_summary
from ednn.core.errors import EDNNError


def test_error_summary_of_four_systems():
    # errors 1, -2, 3, 6 J on systems of 1, 2, 3, 6 sites: per site 1, -1, 1, 1
    true = np.array([10.0, 20.0, 30.0, 40.0])
    predicted = true + [1.0, -2.0, 3.0, 6.0]
    summary = error_summary(predicted, true, np.array([1, 2, 3, 6]))
    assert summary == {
        "n": 4,
        "median_abs_per_system": 2.5,  # of 1, 2, 3, 6
        "mean_abs_per_system": 3.0,
        "rmse_per_system": pytest.approx(np.sqrt((1 + 4 + 9 + 36) / 4)),
        "max_abs_per_system": 6.0,
        "mean_error_per_system": 2.0,
        "median_abs_per_site": 1.0,
        "mean_abs_per_site": 1.0,
    }


def test_error_summary_with_one_site_count_and_several_outputs_pools_them():
    true = np.zeros((2, 2))
    predicted = np.array([[4.0, -8.0], [12.0, 16.0]])  # 64 sites each: per site 1/16, 1/8, 3/16, 1/4
    summary = error_summary(predicted, true, 64)
    assert summary["n"] == 2
    assert summary["median_abs_per_system"] == 10.0 and summary["max_abs_per_system"] == 16.0
    assert summary["mean_error_per_system"] == 6.0
    assert summary["median_abs_per_site"] == pytest.approx(5 / 32) and summary["mean_abs_per_site"] == 0.15625


def test_error_summary_refuses_mismatched_shapes():
    with pytest.raises(
        EDNNError,
        match=r"predictions of shape \(3, 1\) cannot be compared with targets of shape "
        r"\(3, 2\)",
    ):
        error_summary(np.zeros(3), np.zeros((3, 2)), 4)


def test_atom_error_summary_in_ev_mev_per_square_angstrom_and_mev_per_atom():
    # errors 0.1, -0.2, 0.4 eV on sheets of 100, 200, 100 Å² and 50, 100, 40 atoms
    true = np.array([-400.0, -800.0, -300.0])
    predicted = true + [0.1, -0.2, 0.4]
    summary = atom_error_summary(predicted, true, np.array([100.0, 200.0, 100.0]), np.array([50, 100, 40]))
    expected = {
        "n": 3,
        "median_abs_eV": 0.2,
        "mean_abs_eV": 0.7 / 3,
        "median_abs_meV_per_A2": 1.0,
        "mean_abs_meV_per_A2": 2.0,  # of 1, 1, 4 meV/Å²
        "median_abs_meV_per_atom": 2.0,
        "mean_abs_meV_per_atom": 14 / 3,  # of 2, 2, 10 meV/atom
        "rmse_eV": np.sqrt(0.21 / 3),
        "max_abs_eV": 0.4,
        "mean_error_eV": 0.1,
    }
    assert set(summary) == set(expected)
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_atom_error_summary_needs_one_energy_per_structure():
    with pytest.raises(EDNNError, match=r"one energy per structure, got shape \(2, 2\)"):
        atom_error_summary(np.zeros((2, 2)), np.zeros((2, 2)), np.ones(2), np.ones(2))
