"""Metropolis chains of the 2-D Ising model with a tabulated tile energy (paper §3.1).

The energy of a periodic L×L lattice is Σ_tiles table[code] (`TileEnergy`: a trained EDNN's
tile network or the exact J = 1 energy, tabulated once). Flipping spin i changes the codes
of the tiles whose window holds it, by one bit each, so
    ΔE_i = Σ_{tiles τ ∋ i} table[code_τ ^ bit_τ(i)] − table[code_τ].

Sublattice updates. Along one axis a pixel lies in at most q = ceil(t/f) tiles (t = f + 2c),
with consecutive tile indices. Let Q be the smallest divisor of n = L/f with Q >= q, and
p = Q·f. Two distinct sites with equal (i mod p, j mod p) differ by a nonzero multiple of p
along some axis; along it their tile windows are shifted by a multiple of Q >= q tiles, so
they share no tile and flipping one leaves the ΔE of the other unchanged. All L²/p² sites of
such a class are therefore proposed at once, each an exact single-spin Metropolis step
(the same as proposing them one after another); a sweep visits the p² classes in a fixed
order, proposing every site once. For f = 1, c = 1: q = 3, so p = 3 when 3 divides L
(L = 48) and p = 4 for L = 16, 32, 64. Sites of one class share their place in
the focus region (p is a multiple of f), hence the tile offsets and bit positions: each
offset is one vectorised gather over sites × chains.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.core.tiling import check_spatial_shape
from ednn.systems.ising.energy import ONSAGER_TC, ising_energy
from ednn.systems.ising.monte_carlo import ORDERED_START_FACTOR, check_temperatures, initial_spins
from ednn.systems.ising.statistics import ChainMoments
from ednn.systems.ising.tile_energy import TileEnergy

_Class = tuple[np.ndarray, list[tuple[np.ndarray, int]]]
"""One sublattice class: its site indices (S,) and, per tile offset, the tile indices (S,) and bit."""


def _axis_tiles(focus: int, context: int, r: int) -> list[tuple[int, int]]:
    """(tile offset, pixel position in that tile) of every tile holding pixel r (0 <= r < f) of
    focus region 0 along one axis; tile a covers pixels a·f − c … a·f + f + c − 1."""
    t = focus + 2 * context
    return [
        (a, r + context - a * focus)
        for a in range(-(t // focus) - 1, t // focus + 2)
        if 0 <= r + context - a * focus < t
    ]


def sublattices(focus: int, context: int, size: int) -> list[_Class]:
    """The sublattice classes of a periodic size×size lattice, in sweep order (module docstring).

    Site index i·L + j; tile index a·n + b (n = L/f); bit 1 << (row·t + column) of the site in
    that tile. Raises EDNNError when L is not a whole number of focus regions or is smaller
    than the span of tiles holding one pixel.
    """
    check_spatial_shape((size, size), focus, context, "periodic")
    n, t = size // focus, focus + 2 * context
    reach = max(len(_axis_tiles(focus, context, r)) for r in range(focus))
    period = next((q for q in range(reach, n + 1) if n % q == 0), None)
    if period is None:
        raise EDNNError(
            f"a {size}×{size} lattice is too small for {t}×{t} tiles with focus {focus}: "
            f"one spin would lie in a tile twice; use L >= {reach * focus}"
        )
    p = period * focus
    starts = np.arange(0, size, p)
    classes = []
    for ri in range(p):
        for rj in range(p):
            i, j = (ri + starts)[:, None], (rj + starts)[None, :]
            tiles = [
                ((((i // focus + da) % n) * n + (j // focus + db) % n).ravel(), 1 << (pi * t + pj))
                for da, pi in _axis_tiles(focus, context, ri % focus)
                for db, pj in _axis_tiles(focus, context, rj % focus)
            ]
            classes.append(((i * size + j).ravel(), tiles))
    return classes


class TileMetropolis:
    """Independent Metropolis chains on periodic L×L lattices with a tabulated tile energy.

    temperatures: (chains,), one per chain (J/k_B). Chains start ordered (all +1 or all −1)
    below ORDERED_START_FACTOR · ONSAGER_TC and random above, unless `spins` (chains, L, L) ±1 is given.
    The state is stored site-major, (L², chains), so that updates move whole rows.
    """

    def __init__(
        self,
        energy: TileEnergy,
        size: int,
        temperatures: np.ndarray,
        rng: np.random.Generator,
        spins: np.ndarray | None = None,
    ) -> None:
        temperatures = np.asarray(temperatures, dtype=np.float64)
        check_temperatures(temperatures)
        self._classes = sublattices(energy.focus, energy.context, size)
        if spins is None:
            spins = initial_spins(size, temperatures < ORDERED_START_FACTOR * ONSAGER_TC, rng)
        elif np.shape(spins) != (len(temperatures), size, size):
            raise EDNNError(f"spins must have shape {(len(temperatures), size, size)}, got {np.shape(spins)}")
        self.tile_energy, self.size, self.rng = energy, size, rng
        self.temperatures = temperatures
        self._temperature32 = temperatures.astype(np.float32)
        self._codes = energy.codes(spins).reshape(len(spins), -1).T.copy()
        self._spins = np.asarray(spins, dtype=np.int8).reshape(len(spins), -1).T.copy()
        # ΔE of flipping one bit of a tile, per bit: diff[code] = table[code ^ bit] − table[code].
        table, codes = energy.table, np.arange(energy.table.size)
        bits = {bit for _, tiles in self._classes for _, bit in tiles}
        self._diff = {bit: table[codes ^ bit] - table for bit in bits}

    @property
    def n_chains(self) -> int:
        return len(self.temperatures)

    @property
    def spins(self) -> np.ndarray:
        """Current lattices, int8 (chains, L, L) (a copy)."""
        return self._spins.T.reshape(self.n_chains, self.size, self.size).copy()

    def energies(self) -> np.ndarray:
        """Total energy of each chain, float64 (chains,), in J."""
        return self.tile_energy.table[self._codes].sum(axis=0)

    def magnetisations(self) -> np.ndarray:
        """Magnetisation per spin of each chain, float64 (chains,)."""
        return self._spins.sum(axis=0, dtype=np.int64) / self.size**2

    def energy_changes(self, k: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """ΔE (S, chains) of flipping each site of sublattice class k on its own, and the current
        codes (S, chains) of the tiles at each offset."""
        _, tiles = self._classes[k]
        codes = [self._codes[index] for index, _ in tiles]
        delta = self._diff[tiles[0][1]][codes[0]]
        for (_, bit), code in zip(tiles[1:], codes[1:]):
            delta += self._diff[bit][code]
        return delta, codes

    def sweep(self) -> None:
        """One Metropolis sweep: every site of every chain proposed once, class by class."""
        for k, (sites, tiles) in enumerate(self._classes):
            delta, codes = self.energy_changes(k)
            # Accept with probability min(1, exp(−ΔE/T)): ΔE <= −T ln(1 − u), u uniform in [0, 1).
            flip = delta <= -np.log1p(-self.rng.random(delta.shape, dtype=np.float32)) * self._temperature32
            for (index, bit), code in zip(tiles, codes):
                self._codes[index] = code ^ (flip * bit)
            spins = self._spins[sites]
            self._spins[sites] = np.where(flip, -spins, spins)


def _measurements(chains: TileMetropolis, measure_exact: bool) -> list[np.ndarray]:
    """E, E², |m|, m², m⁴ of each chain (chains,), then E_exact, E_exact² when `measure_exact`."""
    e, m = chains.energies(), chains.magnetisations()
    values = [e, e * e, np.abs(m), m * m, m**4]
    if measure_exact:
        exact = ising_energy(chains.spins)
        values += [exact, exact * exact]
    return values


def sample_moments(
    energy: TileEnergy,
    size: int,
    temperatures: np.ndarray,
    *,
    equilibration: int,
    sweeps: int,
    rng: np.random.Generator,
    measure_exact: bool = False,
    progress: bool = False,
) -> ChainMoments:
    """Run one chain per entry of temperatures ((chains,), > 0) for `equilibration` sweeps, then
    measure after each of `sweeps` more. measure_exact: also sum the exact energy of the visited
    lattices (E_exact), e.g. to see the model's error along its own chains."""
    if equilibration < 0 or sweeps < 1:
        raise EDNNError(f"need equilibration >= 0 and sweeps >= 1, got {equilibration} and {sweeps}")
    chains = TileMetropolis(energy, size, temperatures, rng)
    names = ("E", "E2", "abs_m", "m2", "m4") + (("E_exact", "E_exact2") if measure_exact else ())
    sums = {name: np.zeros(chains.n_chains) for name in names}
    start = time.perf_counter()
    label = f"{energy.name} L={size}, {chains.n_chains} chains"
    for step in tqdm(range(equilibration + sweeps), desc=label, unit="sweep", disable=not progress, leave=False):
        chains.sweep()
        if step < equilibration:
            continue
        for name, value in zip(names, _measurements(chains, measure_exact)):
            sums[name] += value
    return ChainMoments(
        size,
        chains.temperatures,
        np.full(chains.n_chains, sweeps),
        sums,
        (equilibration + sweeps) * chains.n_chains * size**2,
        time.perf_counter() - start,
    )


def proposal_rate(
    energy: TileEnergy, size: int, chains: int, sweeps: int, rng: np.random.Generator, temperature: float = ONSAGER_TC
) -> float:
    """Spin-flip proposals per second of `sweeps` bare sweeps (no measurements) of `chains` chains."""
    sampler = TileMetropolis(energy, size, np.full(chains, temperature), rng)
    sampler.sweep()  # first touch of the arrays
    start = time.perf_counter()
    for _ in range(sweeps):
        sampler.sweep()
    return sweeps * chains * size**2 / (time.perf_counter() - start)


@dataclass(frozen=True)
class SweepCost:
    """Measured wall times (s) of `chains` chains: building their sampler, one sweep, one
    measurement (`sample_moments`' sums) and what measuring the exact energy too adds to it."""

    chains: int
    start: float
    sweep: float
    measurement: float
    exact_measurement: float


def sweep_cost(
    energy: TileEnergy,
    size: int,
    chains: int,
    *,
    rng: np.random.Generator,
    clock: Callable[[], float] = time.perf_counter,
    budget: float = 0.1,
    most: int = 5,
) -> SweepCost:
    """Time `chains` chains on L×L lattices at Tc here: the sampler's start, sweeps (at least 2,
    up to `most` while under `budget` seconds; their median) and one measurement with and without
    the exact energy. `clock`: seconds, e.g. a fake one in tests."""
    before = clock()
    sampler = TileMetropolis(energy, size, np.full(chains, ONSAGER_TC), rng)
    start = clock() - before
    sweeps: list[float] = []
    while len(sweeps) < 2 or (len(sweeps) < most and sum(sweeps) < budget):
        before = clock()
        sampler.sweep()
        sweeps.append(clock() - before)
    before = clock()
    _measurements(sampler, False)
    measurement = clock() - before
    before = clock()
    ising_energy(sampler.spins)
    exact = clock() - before
    return SweepCost(chains, start, float(np.median(sweeps)), measurement, exact)
