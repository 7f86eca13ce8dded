"""The 2-D Ising phase transition by Metropolis Monte Carlo with a tabulated tile energy (paper §3.1).

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

Observables (N = L² spins, k_B = 1, E the total energy, m the magnetisation per spin), from
samples pooled over the chains at a temperature: energy ⟨E⟩/N, ⟨|m|⟩, specific heat
C = (⟨E²⟩ − ⟨E⟩²)/(N T²), susceptibility χ = N(⟨m²⟩ − ⟨|m|⟩²)/T and the Binder cumulant
U = 1 − ⟨m⁴⟩/(3⟨m²⟩²). Errors are jackknife errors over groups of independent chains.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.systems.ising.energy import ONSAGER_TC, ising_energy
from ednn.systems.ising.monte_carlo import ORDERED_START_BELOW, initial_spins
from ednn.systems.ising.tile_energy import TileEnergy
from ednn.core.tiling import check_spatial_shape

OBSERVABLES = ("energy", "abs_magnetisation", "specific_heat", "susceptibility", "binder")
"""Observables per temperature, in this order in results and plots."""

_Class = tuple[np.ndarray, list[tuple[np.ndarray, int]]]
"""One sublattice class: its site indices (S,) and, per tile offset, the tile indices (S,) and bit."""


def _axis_tiles(focus: int, context: int, r: int) -> list[tuple[int, int]]:
    """(tile offset, pixel position in that tile) of every tile holding pixel r (0 <= r < f) of
    focus region 0 along one axis; tile a covers pixels a·f − c … a·f + f + c − 1."""
    t = focus + 2 * context
    return [(a, r + context - a * focus) for a in range(-(t // focus) - 1, t // focus + 2)
            if 0 <= r + context - a * focus < t]


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
        raise EDNNError(f"a {size}×{size} lattice is too small for {t}×{t} tiles with focus {focus}: "
                        f"one spin would lie in a tile twice; use L >= {reach * focus}")
    p = period * focus
    starts = np.arange(0, size, p)
    classes = []
    for ri in range(p):
        for rj in range(p):
            i, j = (ri + starts)[:, None], (rj + starts)[None, :]
            tiles = [((((i // focus + da) % n) * n + (j // focus + db) % n).ravel(), 1 << (pi * t + pj))
                     for da, pi in _axis_tiles(focus, context, ri % focus)
                     for db, pj in _axis_tiles(focus, context, rj % focus)]
            classes.append(((i * size + j).ravel(), tiles))
    return classes


def _check_temperatures(temperatures: np.ndarray) -> None:
    if temperatures.ndim != 1 or temperatures.size == 0:
        raise EDNNError(f"temperatures must be a non-empty 1-D array, got shape {temperatures.shape}")
    if not np.all(np.isfinite(temperatures) & (temperatures > 0)):
        raise EDNNError("temperatures must be finite and > 0 (J/k_B)")


class TileMetropolis:
    """Independent Metropolis chains on periodic L×L lattices with a tabulated tile energy.

    temperatures: (chains,), one per chain (J/k_B). Chains start ordered (all +1 or all −1)
    below ORDERED_START_BELOW and random above, unless `spins` (chains, L, L) ±1 is given.
    The state is stored site-major, (L², chains), so that updates move whole rows.
    """

    def __init__(self, energy: TileEnergy, size: int, temperatures: np.ndarray, rng: np.random.Generator,
                 spins: np.ndarray | None = None) -> None:
        temperatures = np.asarray(temperatures, dtype=np.float64)
        _check_temperatures(temperatures)
        self._classes = sublattices(energy.focus, energy.context, size)
        if spins is None:
            spins = initial_spins(size, temperatures < ORDERED_START_BELOW, rng)
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


@dataclass
class ChainMoments:
    """Per-chain sums over measured sweeps, for chains on L×L lattices.

    temperatures, samples: (chains,); sums: name → (chains,) sums of E, E² (total energy, J),
    |m|, m², m⁴ (m per spin), and E_exact, E_exact² when the exact energy was measured too.
    proposals and seconds: spin-flip proposals made and wall time spent (measurements included).
    """

    size: int
    temperatures: np.ndarray
    samples: np.ndarray
    sums: dict[str, np.ndarray]
    proposals: int
    seconds: float

    def merge(self, other: ChainMoments) -> ChainMoments:
        """The chains of both (same L and measured quantities)."""
        if other.size != self.size or other.sums.keys() != self.sums.keys():
            raise EDNNError("only moments of the same lattice size and quantities can be merged")
        return ChainMoments(self.size, np.concatenate([self.temperatures, other.temperatures]),
                            np.concatenate([self.samples, other.samples]),
                            {k: np.concatenate([v, other.sums[k]]) for k, v in self.sums.items()},
                            self.proposals + other.proposals, self.seconds + other.seconds)


def sample_moments(energy: TileEnergy, size: int, temperatures: np.ndarray, *, equilibration: int, sweeps: int,
                   rng: np.random.Generator, measure_exact: bool = False, progress: bool = False) -> ChainMoments:
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
        e, m = chains.energies(), chains.magnetisations()
        values = [e, e * e, np.abs(m), m * m, m**4]
        if measure_exact:
            exact = ising_energy(chains.spins)
            values += [exact, exact * exact]
        for name, value in zip(names, values):
            sums[name] += value
    return ChainMoments(size, chains.temperatures, np.full(chains.n_chains, sweeps), sums,
                        (equilibration + sweeps) * chains.n_chains * size**2, time.perf_counter() - start)


def _derived(means: dict[str, np.ndarray], temperature: float, n_sites: int) -> dict[str, np.ndarray]:
    """Observables (module docstring) from per-sample means of the sums in ChainMoments."""
    values = {
        "energy": means["E"] / n_sites,
        "abs_magnetisation": means["abs_m"],
        "specific_heat": (means["E2"] - means["E"] ** 2) / (n_sites * temperature**2),
        "susceptibility": n_sites * (means["m2"] - means["abs_m"] ** 2) / temperature,
        "binder": 1.0 - means["m4"] / (3.0 * means["m2"] ** 2),
    }
    if "E_exact" in means:
        values["energy_exact"] = means["E_exact"] / n_sites
        values["energy_difference"] = (means["E"] - means["E_exact"]) / n_sites
    return values


def _jackknife(moments: ChainMoments, temperature: float, groups: int) -> tuple[dict, dict]:
    """Observables at one temperature from all its chains, and leaving out each of `groups`
    groups of chains (chain k of that temperature is in group k mod groups): arrays (groups,)."""
    chosen = np.flatnonzero(moments.temperatures == temperature)
    group = np.arange(len(chosen)) % groups
    samples = np.bincount(group, weights=moments.samples[chosen], minlength=groups)
    full, left_out = {}, {}
    for name, values in moments.sums.items():
        in_group = np.bincount(group, weights=values[chosen], minlength=groups)
        full[name] = in_group.sum() / samples.sum()
        left_out[name] = (in_group.sum() - in_group) / (samples.sum() - samples)
    n_sites = moments.size**2
    return _derived(full, temperature, n_sites), _derived(left_out, temperature, n_sites)


def _jackknife_error(replicas: np.ndarray) -> float:
    """Jackknife standard error from leave-one-group-out estimates (groups,)."""
    g = len(replicas)
    return float(np.sqrt((g - 1) / g * np.sum((replicas - replicas.mean()) ** 2)))


def observables(moments: ChainMoments, groups: int = 16) -> dict[str, list]:
    """Each observable and its jackknife error ('<name>_error') per distinct temperature, sorted.

    Errors use min(groups, chains at that temperature) groups of chains; at least 2 chains
    per temperature are needed. Returns lists (JSON-able) keyed also by 'temperature', 'chains'.
    """
    result: dict[str, list] = {"temperature": [], "chains": []}
    for temperature in np.unique(moments.temperatures):
        n_chains = int(np.sum(moments.temperatures == temperature))
        if n_chains < 2:
            raise EDNNError(f"error bars need at least 2 chains per temperature, got {n_chains} at T={temperature}")
        full, left_out = _jackknife(moments, temperature, min(groups, n_chains))
        result["temperature"].append(float(temperature))
        result["chains"].append(n_chains)
        for name, value in full.items():
            result.setdefault(name, []).append(float(value))
            result.setdefault(f"{name}_error", []).append(_jackknife_error(left_out[name]))
    return result


def binder_crossing(temperatures: np.ndarray, u_small: np.ndarray, u_large: np.ndarray) -> float:
    """Temperature where the Binder cumulants of a smaller and a larger lattice cross.

    Fits U_small − U_large against T (temperatures (k,), k >= 2) by least squares, quadratic
    for k >= 4 points, linear otherwise, and returns its rising zero (U of the larger lattice
    falls faster) inside the temperature range nearest the range's middle; NaN if none.
    """
    temperatures = np.asarray(temperatures, dtype=np.float64)
    fit = np.polynomial.Polynomial.fit(temperatures, np.asarray(u_small) - np.asarray(u_large),
                                       deg=2 if len(temperatures) >= 4 else 1)
    slope, low, high = fit.deriv(), temperatures.min(), temperatures.max()
    roots = [r.real for r in np.atleast_1d(fit.roots()) if abs(r.imag) <= 1e-9 * abs(r)]
    rising = [r for r in roots if low <= r <= high and slope(r) > 0]
    middle = (low + high) / 2
    return float(min(rising, key=lambda r: abs(r - middle))) if rising else math.nan


def binder_crossings(runs: dict[int, ChainMoments], temperatures: Sequence[float],
                     groups: int = 16) -> list[dict[str, float | list[int]]]:
    """Binder-cumulant crossing of each pair of consecutive lattice sizes, with its jackknife error.

    runs: L → moments holding chains at every one of `temperatures`. The jackknife leaves out
    group g of the chains of every size and temperature at once (all chains are independent),
    with min(groups, fewest chains at one size and temperature) groups.
    Returns [{'sizes': [L1, L2], 'tc': T, 'error': σ, 'groups': g}, …] for increasing L; tc is
    NaN when no crossing lies inside `temperatures`, error NaN when a leave-one-group-out one does not.
    """
    sizes = sorted(runs)
    if len(sizes) < 2:
        raise EDNNError("a Binder crossing needs at least two lattice sizes")
    counts = [int(np.sum(runs[size].temperatures == t)) for size in sizes for t in temperatures]
    g = min(groups, *counts)
    if g < 2:
        raise EDNNError("the Binder crossing needs at least 2 chains at every size and crossing temperature")
    binder, replicas = {}, {}
    for size in sizes:
        pairs = [_jackknife(runs[size], t, g) for t in temperatures]
        binder[size] = np.array([full["binder"] for full, _ in pairs])
        replicas[size] = np.array([left_out["binder"] for _, left_out in pairs]).T
    crossings = []
    for small, large in zip(sizes, sizes[1:]):
        tc = binder_crossing(temperatures, binder[small], binder[large])
        jack = np.array([binder_crossing(temperatures, a, b) for a, b in zip(replicas[small], replicas[large])])
        crossings.append({"sizes": [small, large], "tc": tc, "error": _jackknife_error(jack), "groups": g})
    return crossings


@dataclass(frozen=True)
class Stage:
    """One batch of chains on L×L lattices: `chains` at each temperature, run for
    `equilibration` sweeps and measured over `sweeps` more."""

    size: int
    temperatures: tuple[float, ...]
    chains: int
    equilibration: int
    sweeps: int

    @property
    def proposals(self) -> int:
        return len(self.temperatures) * self.chains * (self.equilibration + self.sweeps) * self.size**2


def transition_stages(sizes: Sequence[int], coarse: Sequence[float], fine: Sequence[float], effort: float = 1.0,
                      sweep_factor: float = 1.0) -> list[Stage]:
    """A schedule: per L, a coarse stage over `coarse` (minus temperatures inside the fine range)
    and a fine stage over `fine`, the temperatures of the Binder crossing.

    Near Tc single-spin Metropolis decorrelates m² in ≈ 0.035·L² sweeps (measured: 9 at L = 16,
    33 at L = 32), so the fine stage equilibrates for max(200, 0.35·L²) sweeps (≥ 10 of those
    times) and measures max(2000, 2.8·L²) with max(16, 2048·effort/L) chains per temperature
    (the Binder cumulant of the largest lattice limits the crossing's error); the coarse stage,
    for the plots, uses max(100, 0.15·L²) + max(500, 0.25·L²) sweeps and max(4, 256·effort/L)
    chains. sweep_factor scales every sweep count (for smoke runs).
    """
    if not sizes or min(sizes) < 2 or effort <= 0 or sweep_factor <= 0:
        raise EDNNError("need sizes >= 2 and a positive effort and sweep factor")
    if len(fine) < 2:
        raise EDNNError("the Binder crossing needs at least 2 fine temperatures")
    outside = tuple(t for t in coarse if not min(fine) <= t <= max(fine))

    def sweeps(base: int, per_site: float, size: int) -> int:
        return max(1, round(sweep_factor * max(base, per_site * size**2)))

    stages = []
    for size in sorted(sizes):
        if outside:
            stages.append(Stage(size, outside, max(4, round(256 * effort / size)), sweeps(100, 0.15, size),
                                sweeps(500, 0.25, size)))
        stages.append(Stage(size, tuple(fine), max(16, round(2048 * effort / size)), sweeps(200, 0.35, size),
                            sweeps(2000, 2.8, size)))
    return stages


def run_transition(model: TileEnergy, stages: Sequence[Stage], fine: Sequence[float], *,
                   exact: TileEnergy | None = None, seed: int = 0, groups: int = 16,
                   progress: bool = True, on_stage: Callable[[str], None] | None = None) -> dict:
    """Run `stages` with the model's energy (measuring the exact energy of its lattices too) and
    again with the exact energy (default: `TileEnergy.exact()`, f = 1, c = 1), through the same
    sampler, with independent random numbers (seeds [seed, energy, stage]). `progress`: a bar per
    stage (for a terminal); `on_stage`: called with a line as each stage ends (for a log).

    Returns a JSON-able dict: per energy name, 'observables' (L → `observables` lists),
    'crossings' (`binder_crossings` over `fine`), 'tc' and 'tc_error' (the crossing of the two
    largest sizes), 'proposals', 'seconds', 'rate' (proposals per second, measurements included);
    and 'onsager_tc', 'fine_temperatures', 'stages', 'seed', 'groups'.
    """
    exact = TileEnergy.exact() if exact is None else exact
    if model.name == exact.name:
        raise EDNNError(f"the model's energy and the exact energy need different names, both are {model.name!r}")
    result: dict = {"onsager_tc": float(ONSAGER_TC), "fine_temperatures": [float(t) for t in fine],
                    "stages": [asdict(stage) for stage in stages], "seed": seed, "groups": groups, "energies": {}}
    for e, energy in enumerate((model, exact)):
        runs: dict[int, ChainMoments] = {}
        for s, stage in enumerate(stages):
            moments = sample_moments(energy, stage.size, np.repeat(stage.temperatures, stage.chains),
                                     equilibration=stage.equilibration, sweeps=stage.sweeps,
                                     rng=np.random.default_rng([seed, e, s]), measure_exact=energy is model,
                                     progress=progress)
            runs[stage.size] = runs[stage.size].merge(moments) if stage.size in runs else moments
            if on_stage is not None:
                on_stage(f"{energy.name} energy, stage {s + 1} of {len(stages)} (L = {stage.size}, "
                         f"{stage.chains * len(stage.temperatures)} chains): {moments.seconds:.0f} s")
        crossings = binder_crossings(runs, fine, groups)
        proposals = sum(m.proposals for m in runs.values())
        seconds = sum(m.seconds for m in runs.values())
        result["energies"][energy.name] = {
            "observables": {str(size): observables(m, groups) for size, m in runs.items()},
            "crossings": crossings, "tc": crossings[-1]["tc"], "tc_error": crossings[-1]["error"],
            "proposals": proposals, "seconds": seconds, "rate": proposals / seconds,
        }
    return result


def proposal_rate(energy: TileEnergy, size: int, chains: int, sweeps: int, rng: np.random.Generator,
                  temperature: float = ONSAGER_TC) -> float:
    """Spin-flip proposals per second of `sweeps` bare sweeps (no measurements) of `chains` chains."""
    sampler = TileMetropolis(energy, size, np.full(chains, temperature), rng)
    sampler.sweep()  # first touch of the arrays
    start = time.perf_counter()
    for _ in range(sweeps):
        sampler.sweep()
    return sweeps * chains * size**2 / (time.perf_counter() - start)


def temperature_grid(low: float, high: float, step: float) -> np.ndarray:
    """Temperatures low, low + step, …, up to high (included when on the grid), float64, rounded
    to 1e-9 so that grids of equal temperatures compare equal."""
    if not 0 < low <= high < math.inf or not step > 0:
        raise EDNNError(f"temperatures need 0 < low <= high and step > 0 (J/k_B), got {low}, {high}, step {step}")
    return np.round(low + step * np.arange(math.floor((high - low) / step + 1e-9) + 1), 9)


def _nan_reason(crossing: dict, fine: Sequence[float]) -> str | None:
    """Why a crossing's Tc or error bar is NaN (see `binder_crossings`), or None when neither is."""
    span = f"{min(fine):g}..{max(fine):g}"
    if math.isnan(crossing["tc"]):
        return (f"no rising Binder crossing inside the crossing temperatures {span}: widen --fine-min..--fine-max "
                "(small lattices cross away from Tc) or raise --effort")
    if math.isnan(crossing["error"]):
        return (f"no error bar: leaving out one of {crossing['groups']} groups of chains moved the crossing "
                f"outside {span}; too few chains per jackknife group: raise --effort")
    return None


def summary_lines(result: dict) -> list[str]:
    """A table of the Binder crossings of a `run_transition` result beside Onsager's Tc, a line
    on why for each NaN in it, and the rates."""
    onsager = result["onsager_tc"]
    lines = [f"{'energy':8} {'sizes':>7} {'Tc':>8} {'± (jackknife)':>14} {'vs Onsager':>11}"]
    notes = []
    for name, run in result["energies"].items():
        for c in run["crossings"]:
            pair = f"{c['sizes'][0]:>3}/{c['sizes'][1]:<3}"
            lines.append(f"{name:8} {pair} {c['tc']:8.4f} {c['error']:14.4f} {100 * (c['tc'] / onsager - 1):+10.2f}%")
            reason = _nan_reason(c, result["fine_temperatures"])
            if reason is not None:
                notes.append(f"{name} {pair.strip()}: {reason}")
    lines.append(f"{'Onsager':8} {'L=∞':>7} {onsager:8.4f}")
    lines += notes
    lines.append("proposals per second, measurements included: " + ", ".join(
        f"{name} {run['rate']:.3g} ({run['proposals']:.3g} in {run['seconds']:.0f} s)"
        for name, run in result["energies"].items()))
    return lines
