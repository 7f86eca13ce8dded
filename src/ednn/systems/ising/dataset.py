"""Resumable generation and loading of HDF5 Ising datasets (x: spins, energy, T)."""

import math
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.io.grids import read_datasets
from ednn.io.paths import make_parent
from ednn.io.run_record import check_resume
from ednn.systems.ising.energy import ising_energy
from ednn.systems.ising.monte_carlo import check_dimension, sample_configurations

FORMAT = "ednn-ising-v1"
EVEN_ENERGY_POOL_FACTOR = 4
"""With even_energies, each chunk is picked from a pool this many times larger."""
_CONFIGS_PER_ENERGY_BIN = 10


def generate_ising_dataset(
    path: str | Path,
    *,
    size: int,
    n_configs: int,
    t_min: float,
    t_max: float,
    seed: int,
    chunk_size: int = 1000,
    even_energies: bool = False,
    progress: bool = True,
    dim: int = 2,
) -> Path:
    """Write (or resume writing) n_configs Ising configurations of edge `size` in `dim` (2 or 3)
    dimensions to an HDF5 file.

    Datasets: x (int8, (N, L, L) or (N, L, L, L), spins ±1), energy (float64, (N,), J = 1,
    periodic) and T (float64, (N,)); attrs hold the parameters (dim among them), format,
    chunks_done and complete. A file without a dim attr (written before 3-D existed) is 2-D.
    Temperatures are uniform in [t_min, t_max]. Chunk k (chunk_size configurations, one
    independent Monte Carlo chain each) uses np.random.default_rng([seed, k]), so an
    interrupted run resumed with the same arguments gives the same file contents as an
    uninterrupted one: data past chunks_done is dropped on resume, and chunks_done is
    updated and flushed after each chunk (HDF5 is not journaled, so a kill in the middle
    of a write can still leave the file unreadable; it must then be deleted). An existing
    complete file is returned untouched; one with other parameters raises EDNNError.
    100 000 8×8 configurations, T in [1, 5]: ~18 s on one core (even_energies: ~4×);
    100 000 8×8×8 ones, T in [2, 8]: ~5 minutes.

    even_energies: each chunk is drawn from a pool of EVEN_ENERGY_POOL_FACTOR × chunk_size
    configurations with uniform temperatures, choosing as flat an energy histogram over the
    pool's energy range as the pool allows, without picking any pool member twice (the
    temperatures of the chosen configurations are then no longer uniform).
    """
    path = Path(path)
    params = _check_parameters(size, n_configs, t_min, t_max, seed, chunk_size, even_energies, dim)
    with _open_for_generation(path, params) as f:
        if f.attrs["complete"]:
            return path
        chunks_done = int(f.attrs["chunks_done"])
        n_written = min(chunks_done * chunk_size, n_configs)
        for name in ("x", "energy", "T"):
            f[name].resize(n_written, axis=0)
        with tqdm(total=n_configs, initial=n_written, unit="config", desc=path.name, disable=not progress) as bar:
            for k in range(chunks_done, math.ceil(n_configs / chunk_size)):
                n = min(chunk_size, n_configs - k * chunk_size)
                x, energy, T = _generate_chunk(params, n, np.random.default_rng([seed, k]))
                _append(f, x, energy, T)
                f.attrs["chunks_done"] = k + 1
                f.flush()
                bar.update(n)
        f.attrs["complete"] = True
    return path


def load_ising_dataset(path: str | Path) -> dict[str, np.ndarray]:
    """Read a dataset written by generate_ising_dataset.

    Returns {"x": int8 (N, *spatial), "energy": float64 (N,), "T": float64 (N,)}.
    Raises EDNNError for a missing, unreadable, incomplete or inconsistent file.
    """
    data, _ = read_datasets(path, ["x", "energy", "T"])
    return {
        "x": data["x"].astype(np.int8, copy=False),
        "energy": data["energy"].astype(np.float64, copy=False),
        "T": data["T"].astype(np.float64, copy=False),
    }


def _check_parameters(
    size: int, n_configs: int, t_min: float, t_max: float, seed: int, chunk_size: int, even_energies: bool, dim: int
) -> dict[str, int | float | bool]:
    check_dimension(dim)
    if size < 2 or size % 2:
        raise EDNNError(f"lattice size must be an even number >= 2, got {size}")
    if n_configs < 1 or chunk_size < 1:
        raise EDNNError(f"n_configs and chunk_size must be >= 1, got {n_configs} and {chunk_size}")
    if not 0 < t_min <= t_max < math.inf:
        raise EDNNError(f"temperatures must satisfy 0 < t_min <= t_max < inf, got t_min={t_min}, t_max={t_max}")
    if seed < 0:
        raise EDNNError(f"seed must be >= 0, got {seed}")
    return {
        "size": int(size),
        "n_configs": int(n_configs),
        "t_min": float(t_min),
        "t_max": float(t_max),
        "seed": int(seed),
        "chunk_size": int(chunk_size),
        "even_energies": bool(even_energies),
        "dim": int(dim),
    }


def _open_for_generation(path: Path, params: dict[str, int | float | bool]) -> h5py.File:
    """Open an existing dataset with the same parameters for appending, or create an empty one."""
    if not path.exists():
        make_parent(path)
        return _create(path, params)
    try:
        f = h5py.File(path, "r+")
    except OSError as error:
        reason = _first_line(error)
        raise EDNNError(
            f"{path} exists and is not a writable HDF5 file ({reason}); delete it or choose another path"
        ) from error
    try:
        if f.attrs.get("format") != FORMAT:
            raise EDNNError(f"{path} exists and is not an {FORMAT} dataset; delete it or choose another path")
        stored = {"dim": 2, **f.attrs}  # files from before 3-D lattices hold no dim: 2-D
        check_resume(stored, params, f"{path} was generated", "delete it or choose another path")
    except EDNNError:
        f.close()
        raise
    return f


def _create(path: Path, params: dict[str, int | float | bool]) -> h5py.File:
    """A new file with the parameter attrs and empty, resizable x, energy and T datasets."""
    size, chunk_size, dim = params["size"], params["chunk_size"], params["dim"]
    lattice = (size,) * dim
    f = h5py.File(path, "w")
    try:
        f.attrs.update(params)
        f.attrs.update({"format": FORMAT, "chunks_done": 0, "complete": False})
        rows = max(1, min(chunk_size, 2**18 // size**dim))
        f.create_dataset(
            "x",
            (0, *lattice),
            np.int8,
            maxshape=(None, *lattice),
            chunks=(rows, *lattice),
            compression="gzip",
            fletcher32=True,  # a damaged chunk is named as such on reading, not read as other spins
        )
        for name in ("energy", "T"):
            f.create_dataset(
                name, (0,), np.float64, maxshape=(None,), chunks=(min(chunk_size, 2**15),), fletcher32=True
            )
        f.flush()
    except BaseException:
        f.close()
        raise
    return f


def _generate_chunk(
    params: dict[str, int | float | bool], n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n configurations (int8 (n, *[L] * dim)) with their energies and temperatures (float64 (n,))."""
    even_energies = params["even_energies"]
    pool = EVEN_ENERGY_POOL_FACTOR * n if even_energies else n
    temperatures = rng.uniform(params["t_min"], params["t_max"], size=pool)
    x, T = sample_configurations(params["size"], temperatures, 1, rng, dim=params["dim"])
    energy = ising_energy(x)
    if even_energies:
        chosen = rng.permutation(flat_energy_selection(energy, n, rng))
        return x[chosen], energy[chosen], T[chosen]
    return x, energy, T


def flat_energy_selection(energy: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of n distinct entries of `energy` ((pool,), pool >= n) with an energy histogram as flat as possible.

    Bins are the distinct energies, or max(1, n // 10) equal-width bins over the pool's
    energy range when there are more distinct values than that. Every bin gets the same
    quota, except that a bin with fewer members than the quota gives all of them and the
    rest is shared among the other bins. Members within a bin are chosen at random.
    Returns sorted int64 indices, shape (n,).
    """
    levels, bins = np.unique(energy, return_inverse=True)
    max_bins = max(1, n // _CONFIGS_PER_ENERGY_BIN)
    if levels.size > max_bins:
        span = energy.max() - energy.min()
        bins = np.minimum(((energy - energy.min()) / span * max_bins).astype(np.int64), max_bins - 1)
    members = np.bincount(bins)
    quota = _water_fill(members, n, rng)
    # Members of each bin in random order, then the first quota[b] of bin b.
    order = rng.permutation(energy.size)
    order = order[np.argsort(bins[order], kind="stable")]
    sorted_bins = bins[order]
    rank = np.arange(energy.size) - np.searchsorted(sorted_bins, sorted_bins)
    return np.sort(order[rank < quota[sorted_bins]])


def _water_fill(members: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Quotas q_b = min(members[b], level), summing to n <= members.sum(); ties broken at random."""
    quota = np.zeros_like(members)
    by_size = np.argsort(members, kind="stable")
    remaining = n
    for i, b in enumerate(by_size):
        if members[b] * (len(by_size) - i) > remaining:
            break
        quota[b] = members[b]
        remaining -= members[b]
    else:
        return quota
    open_bins = by_size[i:]
    share, extra = divmod(remaining, len(open_bins))
    quota[open_bins] = share
    quota[rng.choice(open_bins, size=extra, replace=False)] += 1
    return quota


def _append(f: h5py.File, x: np.ndarray, energy: np.ndarray, T: np.ndarray) -> None:
    start = f["x"].shape[0]
    for name, values in (("x", x), ("energy", energy), ("T", T)):
        f[name].resize(start + len(values), axis=0)
        f[name][start:] = values


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
