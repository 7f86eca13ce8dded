"""Statistics of Ising Monte Carlo chains: moments summed per chain, the observables and
their jackknife errors, and the Binder-cumulant crossings of two lattice sizes.

Observables (N = L² spins, k_B = 1, E the total energy, m the magnetisation per spin), from
samples pooled over the chains at a temperature: energy ⟨E⟩/N, ⟨|m|⟩, specific heat
C = (⟨E²⟩ − ⟨E⟩²)/(N T²), susceptibility χ = N(⟨m²⟩ − ⟨|m|⟩²)/T and the Binder cumulant
U = 1 − ⟨m⁴⟩/(3⟨m²⟩²). Errors are jackknife errors over groups of independent chains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ednn.core.errors import EDNNError

OBSERVABLES = ("energy", "abs_magnetisation", "specific_heat", "susceptibility", "binder")
"""Observables per temperature, in this order in results and plots."""


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
        return ChainMoments(
            self.size,
            np.concatenate([self.temperatures, other.temperatures]),
            np.concatenate([self.samples, other.samples]),
            {k: np.concatenate([v, other.sums[k]]) for k, v in self.sums.items()},
            self.proposals + other.proposals,
            self.seconds + other.seconds,
        )


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
    fit = np.polynomial.Polynomial.fit(
        temperatures, np.asarray(u_small) - np.asarray(u_large), deg=2 if len(temperatures) >= 4 else 1
    )
    slope, low, high = fit.deriv(), temperatures.min(), temperatures.max()
    roots = [r.real for r in np.atleast_1d(fit.roots()) if abs(r.imag) <= 1e-9 * abs(r)]
    rising = [r for r in roots if low <= r <= high and slope(r) > 0]
    middle = (low + high) / 2
    return float(min(rising, key=lambda r: abs(r - middle))) if rising else math.nan


def binder_crossings(
    runs: dict[int, ChainMoments], temperatures: Sequence[float], groups: int = 16
) -> list[dict[str, float | list[int]]]:
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
