import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.integrate import quad

from ednn.core.errors import EDNNError
from ednn.systems.ising import ONSAGER_TC, ising_energy, onsager_energy_per_spin


@st.composite
def spin_batches(draw):
    shape = draw(st.lists(st.integers(1, 5), min_size=2, max_size=4))
    bits = draw(arrays(np.int8, shape, elements=st.integers(0, 1)))
    return (2 * bits - 1).astype(np.int8)


def brute_force_energy(spins: np.ndarray) -> np.ndarray:
    spatial = spins.shape[1:]
    energies = []
    for lattice in spins:
        bond_sum = 0
        for site in itertools.product(*(range(n) for n in spatial)):
            for axis, n in enumerate(spatial):
                neighbour = list(site)
                neighbour[axis] = (site[axis] + 1) % n
                bond_sum += int(lattice[site]) * int(lattice[tuple(neighbour)])
        energies.append(-bond_sum)
    return np.array(energies, dtype=np.float64)


@settings(max_examples=60, deadline=None)
@given(spin_batches())
def test_energy_matches_double_loop_over_bonds(spins):
    energy = ising_energy(spins)
    assert energy.dtype == np.float64 and energy.shape == (spins.shape[0],)
    np.testing.assert_array_equal(energy, brute_force_energy(spins))


@settings(max_examples=40, deadline=None)
@given(spin_batches(), st.data())
def test_energy_invariant_under_global_flip_and_periodic_shift(spins, data):
    shifts = [data.draw(st.integers(-6, 6)) for _ in spins.shape[1:]]
    shifted = np.roll(spins, shifts, axis=tuple(range(1, spins.ndim)))
    np.testing.assert_array_equal(ising_energy(-spins), ising_energy(spins))
    np.testing.assert_array_equal(ising_energy(shifted), ising_energy(spins))


@pytest.mark.parametrize("size", [2, 4, 8, 10])
def test_2d_energy_range_and_extremes(size):
    up = np.ones((1, size, size), dtype=np.int8)
    checkerboard = (1 - 2 * (np.add.outer(np.arange(size), np.arange(size)) % 2))[None].astype(np.int8)
    random = 2 * np.random.default_rng(size).integers(0, 2, (500, size, size), dtype=np.int8) - 1
    assert ising_energy(up)[0] == -2 * size**2
    assert ising_energy(checkerboard)[0] == 2 * size**2
    energy = ising_energy(random)
    assert np.all((energy >= -2 * size**2) & (energy <= 2 * size**2))
    assert np.all((energy + 2 * size**2) % 4 == 0)


def test_energy_accepts_float_spins_and_rejects_bad_input():
    spins = np.ones((3, 4, 4))
    np.testing.assert_array_equal(ising_energy(spins), -32.0)
    with pytest.raises(EDNNError, match=r"\+1 or -1"):
        ising_energy(np.zeros((1, 4, 4), dtype=np.int8))
    with pytest.raises(EDNNError, match="spatial axes"):
        ising_energy(np.ones(4, dtype=np.int8))


def log_partition_per_spin(beta: float) -> float:
    """Onsager's ln Z / N, with the inner θ2 integral done in closed form."""
    a0, b = np.cosh(2 * beta) ** 2, np.sinh(2 * beta)

    def integrand(theta):
        a = a0 - b * np.cos(theta)
        return np.log((a + np.sqrt(a * a - b * b)) / 2)

    return np.log(2) + quad(integrand, 0, np.pi, epsabs=1e-12, epsrel=1e-12, limit=200)[0] / (2 * np.pi)


@pytest.mark.parametrize("T", [0.8, 1.5, 2.0, 2.5, 3.5, 6.0])
def test_onsager_energy_is_minus_derivative_of_log_partition_function(T):
    beta, h = 1 / T, 1e-5
    expected = -(log_partition_per_spin(beta + h) - log_partition_per_spin(beta - h)) / (2 * h)
    assert onsager_energy_per_spin(np.array(T)) == pytest.approx(expected, rel=1e-6)


def test_onsager_energy_at_and_around_tc_and_limits():
    assert pytest.approx(2.269185314, rel=1e-9) == ONSAGER_TC
    values = onsager_energy_per_spin(np.array([ONSAGER_TC, ONSAGER_TC * (1 - 1e-9), ONSAGER_TC * (1 + 1e-9)]))
    np.testing.assert_allclose(values, -np.sqrt(2), rtol=1e-6)
    assert onsager_energy_per_spin(np.array([0.05]))[0] == pytest.approx(-2.0, abs=1e-12)
    # High temperature series: u = -2 tanh(β) - O(β³) ~ -2/T.
    assert onsager_energy_per_spin(np.array([1000.0]))[0] == pytest.approx(-2e-3, rel=1e-4)
    with pytest.raises(EDNNError):
        onsager_energy_per_spin(np.array([0.0, 1.0]))
