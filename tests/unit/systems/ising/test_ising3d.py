"""The Ising model on periodic cubic L×L×L lattices: energy, Monte Carlo, data files."""

import itertools

import h5py
import numpy as np
import pytest
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from ednn.core.errors import EDNNError
from ednn.systems.ising import generate_ising_dataset, ising_energy, load_ising_dataset, sample_configurations
from ednn.systems.ising.energy import CRITICAL_TEMPERATURES, CUBIC_TC, ONSAGER_TC
from ednn.systems.ising.monte_carlo import _ChainBatch, cluster_labels


def brute_force_energy(spins: np.ndarray) -> float:
    """−Σ over the 3·L³ bonds (site, its +1 neighbour along each axis), one site at a time."""
    size = spins.shape[0]
    total = 0
    for i, j, k in itertools.product(range(size), repeat=3):
        for di, dj, dk in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
            total -= spins[i, j, k] * spins[(i + di) % size, (j + dj) % size, (k + dk) % size]
    return float(total)


@pytest.mark.parametrize("size", [2, 3, 4])
def test_energy_is_the_sum_over_bonds(size):
    rng = np.random.default_rng(size)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(5, size, size, size))
    np.testing.assert_array_equal(ising_energy(spins), [brute_force_energy(s) for s in spins])
    assert ising_energy(np.ones((1, size, size, size)))[0] == -3 * size**3


def test_critical_temperatures():
    assert CRITICAL_TEMPERATURES == {2: ONSAGER_TC, 3: CUBIC_TC}
    assert pytest.approx(4.5115, abs=1e-4) == CUBIC_TC


def magnetisation(spins: np.ndarray) -> np.ndarray:
    return np.abs(spins.reshape(len(spins), -1).mean(1))


@pytest.mark.parametrize("wolff", [0, 1])
def test_cold_lattices_stay_ordered_and_hot_ones_disorder(wolff):
    rng = np.random.default_rng(0)
    cold, _ = sample_configurations(6, np.full(8, 1.0), 2, rng, wolff_moves_per_sweep=wolff, dim=3)
    hot, _ = sample_configurations(6, np.full(8, 100.0), 2, rng, wolff_moves_per_sweep=wolff, dim=3)
    assert cold.shape == hot.shape == (16, 6, 6, 6) and cold.dtype == np.int8
    assert magnetisation(cold).min() > 0.99
    assert magnetisation(hot).mean() < 0.15  # random spins: |m| ≈ 0.8 / √216 ≈ 0.05


def exact_moments_2x2x2(T: float) -> tuple[float, float]:
    """<E> and <E²> of the periodic 2×2×2 lattice over all 2^8 configurations."""
    codes = np.arange(2**8)[:, None] >> np.arange(8) & 1
    energy = ising_energy((2 * codes - 1).reshape(-1, 2, 2, 2))
    weight = np.exp(-(energy - energy.min()) / T)
    weight /= weight.sum()
    return float(weight @ energy), float(weight @ energy**2)


@pytest.mark.parametrize("wolff", [0, 1])
@pytest.mark.parametrize("T", [3.0, CUBIC_TC, 8.0])
def test_sampler_matches_exact_2x2x2_moments(T, wolff):
    """Detailed balance, roughly: the chains' energy moments are those of the Boltzmann distribution."""
    spins, _ = sample_configurations(
        2, np.full(200, T), 40, np.random.default_rng(5), sweeps_between=2, wolff_moves_per_sweep=wolff, dim=3
    )
    energy = ising_energy(spins).reshape(200, 40)
    for observed, expected in zip((energy, energy**2), exact_moments_2x2x2(T)):
        chain_means = observed.mean(axis=1)
        error = chain_means.std(ddof=1) / np.sqrt(len(chain_means))
        assert abs(chain_means.mean() - expected) < 5 * error + 1e-9 * abs(expected)


def reference_labels(bonds: list[np.ndarray]) -> np.ndarray:
    """Connected components of the periodic bond graph (bonds given the last axis first)."""
    site = np.arange(bonds[0].size).reshape(bonds[0].shape)
    rows = np.concatenate([site[b] for b in bonds])
    cols = np.concatenate([np.roll(site, -1, axis=axis)[b] for axis, b in zip((3, 2, 1), bonds)])
    graph = csr_array((np.ones(rows.size), (rows, cols)), shape=(site.size, site.size))
    return connected_components(graph, directed=False)[1].reshape(site.shape)


@pytest.mark.parametrize("size", [2, 3, 6])
@pytest.mark.parametrize("bond_prob", [0.0, 0.25, 0.5, 1.0])
def test_cluster_labels_match_graph_components_in_3d(size, bond_prob):
    bonds = list(np.random.default_rng(size).random((3, 4, size, size, size)) < bond_prob)
    labels, reference = cluster_labels(*bonds).ravel(), reference_labels(bonds).ravel()
    pairs = np.unique(np.stack([labels, reference]), axis=1).shape[1]
    assert pairs == np.unique(labels).size == np.unique(reference).size


def test_wolff_move_flips_one_site_when_hot_and_everything_when_cold_in_3d():
    rng = np.random.default_rng(1)
    up = np.ones((5, 4, 4, 4), dtype=np.int8)
    hot = up.copy()
    _ChainBatch(4, np.full(5, 1e-9), 1, rng, dim=3).wolff_move(hot)
    np.testing.assert_array_equal((hot == -1).sum(axis=(1, 2, 3)), 1)
    cold = up.copy()
    _ChainBatch(4, np.full(5, 50.0), 1, rng, dim=3).wolff_move(cold)
    np.testing.assert_array_equal(cold, -up)


def test_other_dimensions_are_refused():
    with pytest.raises(EDNNError, match="2-D or 3-D, got dim 4"):
        sample_configurations(4, np.ones(2), 1, np.random.default_rng(0), dim=4)
    with pytest.raises(EDNNError, match="2-D or 3-D, got dim 1"):
        generate_ising_dataset("unused.h5", size=4, n_configs=2, t_min=1, t_max=2, seed=0, dim=1)


def file_contents(path) -> dict[str, np.ndarray]:
    with h5py.File(path) as f:
        return {name: f[name][:] for name in ("x", "energy", "T")}


def test_3d_dataset_round_trips_and_resumes(tmp_path):
    path = tmp_path / "cubic.h5"
    options = dict(size=4, n_configs=25, t_min=3.0, t_max=6.0, seed=2, chunk_size=10, progress=False, dim=3)
    generate_ising_dataset(path, **options)
    data = load_ising_dataset(path)
    assert data["x"].shape == (25, 4, 4, 4) and data["x"].dtype == np.int8
    np.testing.assert_array_equal(data["energy"], ising_energy(data["x"]))
    assert np.all((data["T"] >= 3.0) & (data["T"] <= 6.0))
    whole = file_contents(path)
    with h5py.File(path, "r+") as f:  # as a run killed after its first chunk leaves it
        assert f.attrs["dim"] == 3
        f.attrs["chunks_done"], f.attrs["complete"] = 1, False
    generate_ising_dataset(path, **options)
    for name, values in file_contents(path).items():
        np.testing.assert_array_equal(values, whole[name])
    with pytest.raises(EDNNError, match="dim: 3 in file, 2 requested"):
        generate_ising_dataset(path, **{**options, "dim": 2})


def test_a_2d_file_without_a_dim_attribute_is_2d(tmp_path):
    path = tmp_path / "square.h5"
    options = dict(size=4, n_configs=4, t_min=1.0, t_max=2.0, seed=0, chunk_size=2, progress=False)
    generate_ising_dataset(path, **options)
    with h5py.File(path, "r+") as f:  # as written before 3-D lattices existed
        del f.attrs["dim"]
        f.attrs["chunks_done"], f.attrs["complete"] = 1, False
    generate_ising_dataset(path, **options)
    assert load_ising_dataset(path)["x"].shape == (4, 4, 4)
    with pytest.raises(EDNNError, match="dim: 2 in file, 3 requested"):
        generate_ising_dataset(path, **{**options, "dim": 3})


def test_cli_generates_3d_lattices(tmp_path, ednn_cli):
    path = tmp_path / "cli.h5"
    result = ednn_cli("ising", "generate", path, "-L", 4, "--dim", 3, "-n", 6, "--t-min", 4, "--t-max", 5)
    assert result.returncode == 0, result.stderr
    assert load_ising_dataset(path)["x"].shape == (6, 4, 4, 4)
    assert ednn_cli("ising", "generate", tmp_path / "bad.h5", "--dim", 4).returncode == 2
