import numpy as np
import pytest
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ednn.core.errors import EDNNError
from ednn.systems.ising import ONSAGER_TC, ising_energy, onsager_energy_per_spin, sample_configurations
from ednn.systems.ising.monte_carlo import _ChainBatch, cluster_labels, initial_spins


def exact_energy_moments_4x4(T: float) -> tuple[float, float]:
    """<E> and <E²> of the periodic 4×4 lattice by enumerating all 2^16 configurations."""
    codes = np.arange(2**16)[:, None] >> np.arange(16) & 1
    energy = ising_energy((2 * codes - 1).reshape(-1, 4, 4))
    weight = np.exp(-(energy - energy.min()) / T)
    weight /= weight.sum()
    return float(weight @ energy), float(weight @ energy**2)


def assert_matches_exact(energy_per_chain: np.ndarray, T: float) -> None:
    """energy_per_chain: (n_chains, n_samples); chain means are independent estimates."""
    mean, second = exact_energy_moments_4x4(T)
    for observed, expected in ((energy_per_chain, mean), (energy_per_chain**2, second)):
        chain_means = observed.mean(axis=1)
        error = chain_means.std(ddof=1) / np.sqrt(len(chain_means))
        assert abs(chain_means.mean() - expected) < 5 * error + 1e-9 * abs(expected)


def test_shapes_values_and_chain_major_order():
    temperatures = np.array([1.0, 2.3, 4.0])
    spins, T = sample_configurations(
        6, temperatures, 4, np.random.default_rng(0), equilibration_sweeps=3, sweeps_between=1
    )
    assert spins.dtype == np.int8 and spins.shape == (12, 6, 6)
    assert np.all(np.abs(spins) == 1)
    assert T.dtype == np.float64
    np.testing.assert_array_equal(T, np.repeat(temperatures, 4))


def test_deterministic_given_rng():
    temperatures = np.linspace(1.5, 3.5, 8)
    runs = [sample_configurations(8, temperatures, 3, np.random.default_rng(seed)) for seed in (7, 7, 8)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert not np.array_equal(runs[0][0], runs[2][0])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((5, [2.0], 1), "even"),
        ((8, [2.0, -1.0], 1), "positive"),
        ((8, [[2.0]], 1), "1-D"),
        ((8, [2.0], 0), "samples_per_chain"),
    ],
)
def test_rejects_bad_arguments(arguments, message):
    size, temperatures, samples = arguments
    with pytest.raises(EDNNError, match=message):
        sample_configurations(size, np.array(temperatures), samples, np.random.default_rng(0))


def reference_labels(right: np.ndarray, down: np.ndarray) -> np.ndarray:
    n_chains, size, _ = right.shape
    site = np.arange(right.size).reshape(right.shape)
    rows = np.concatenate([site[right], site[down]])
    cols = np.concatenate([np.roll(site, -1, axis=2)[right], np.roll(site, -1, axis=1)[down]])
    graph = csr_array((np.ones(rows.size), (rows, cols)), shape=(site.size, site.size))
    return connected_components(graph, directed=False)[1].reshape(right.shape)


@pytest.mark.parametrize("size", [2, 4, 7, 16])
@pytest.mark.parametrize("bond_prob", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_cluster_labels_match_graph_components(size, bond_prob):
    rng = np.random.default_rng(size)
    right, down = rng.random((2, 5, size, size)) < bond_prob
    labels, reference = cluster_labels(right, down).ravel(), reference_labels(right, down).ravel()
    # Same partition: the label pairs define a bijection between the two labellings.
    pairs = np.unique(np.stack([labels, reference]), axis=1).shape[1]
    assert pairs == np.unique(labels).size == np.unique(reference).size


def test_wolff_move_flips_one_site_when_hot_and_everything_when_cold():
    rng = np.random.default_rng(1)
    up = np.ones((6, 8, 8), dtype=np.int8)
    hot = up.copy()
    _ChainBatch(8, np.full(6, 1e-9), 1, rng).wolff_move(hot)
    assert hot.dtype == np.int8 and np.all(np.abs(hot) == 1)
    np.testing.assert_array_equal((hot == -1).sum(axis=(1, 2)), 1)
    cold = up.copy()
    _ChainBatch(8, np.full(6, 50.0), 1, rng).wolff_move(cold)
    np.testing.assert_array_equal(cold, -up)


def test_wolff_move_flips_one_aligned_connected_cluster():
    rng = np.random.default_rng(2)
    chains = _ChainBatch(16, np.full(20, 1 / ONSAGER_TC), 1, rng)
    spins = initial_spins(16, np.zeros(20, dtype=bool), rng)
    before = spins.copy()
    chains.wolff_move(spins)
    flipped = spins != before
    for c in range(20):
        assert len(np.unique(before[c][flipped[c]])) == 1
        # The flipped sites form one cluster when only flipped-flipped bonds are allowed.
        right = flipped[c] & np.roll(flipped[c], -1, axis=1)
        down = flipped[c] & np.roll(flipped[c], -1, axis=0)
        labels = cluster_labels(right[None], down[None])[0]
        assert len(np.unique(labels[flipped[c]])) == 1


@pytest.mark.parametrize("T", [1.8, ONSAGER_TC, 3.0])
def test_sampler_matches_exact_4x4_moments(T):
    spins, _ = sample_configurations(4, np.full(200, T), 40, np.random.default_rng(3), sweeps_between=2)
    assert_matches_exact(ising_energy(spins).reshape(200, 40), T)


@pytest.mark.parametrize("T", [1.8, ONSAGER_TC, 3.0])
def test_metropolis_alone_matches_exact_4x4_moments(T):
    spins, _ = sample_configurations(
        4, np.full(200, T), 40, np.random.default_rng(4), sweeps_between=3, wolff_moves_per_sweep=0
    )
    assert_matches_exact(ising_energy(spins).reshape(200, 40), T)


@pytest.mark.parametrize("T", [1.8, ONSAGER_TC, 3.0])
def test_wolff_alone_matches_exact_4x4_moments(T):
    rng = np.random.default_rng(5)
    chains = _ChainBatch(4, np.full(200, 1 / T), 1, rng)
    spins = initial_spins(4, np.zeros(200, dtype=bool), rng)
    energies = []
    for move in range(400):
        chains.wolff_move(spins)
        if move >= 50 and move % 5 == 0:
            energies.append(ising_energy(spins))
    assert_matches_exact(np.stack(energies, axis=1), T)


@pytest.mark.parametrize("size", [16, 32])
@pytest.mark.parametrize("T", [1.5, 3.5])
def test_mean_energy_close_to_onsager(size, T):
    spins, _ = sample_configurations(size, np.full(32, T), 8, np.random.default_rng(6))
    per_spin = ising_energy(spins).mean() / size**2
    assert per_spin == pytest.approx(onsager_energy_per_spin(np.array(T)), rel=0.01)
