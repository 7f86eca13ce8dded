"""The 2-D Ising phase transition by Metropolis Monte Carlo with a tabulated tile energy (paper §3.1).

A run is a schedule of stages (`transition_stages`): per lattice size, chains at coarse
temperatures for the plots and at fine ones around Tc for the Binder crossing, each sampled
(`ednn.systems.ising.sampler`) and summarised (`ednn.systems.ising.statistics`) with the
model's energy and with the exact one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ednn.core.errors import EDNNError
from ednn.systems.ising.energy import ONSAGER_TC
from ednn.systems.ising.sampler import SweepCost, sample_moments, sweep_cost
from ednn.systems.ising.statistics import ChainMoments, binder_crossings, observables
from ednn.systems.ising.tile_energy import TileEnergy


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


def transition_stages(
    sizes: Sequence[int], coarse: Sequence[float], fine: Sequence[float], effort: float = 1.0, sweep_factor: float = 1.0
) -> list[Stage]:
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
            stages.append(
                Stage(
                    size, outside, max(4, round(256 * effort / size)), sweeps(100, 0.15, size), sweeps(500, 0.25, size)
                )
            )
        stages.append(
            Stage(
                size,
                tuple(fine),
                max(16, round(2048 * effort / size)),
                sweeps(200, 0.35, size),
                sweeps(2000, 2.8, size),
            )
        )
    return stages


ESTIMATE_SITES = 250_000
"""Chains × spins of the largest sampler the run-time estimate times (a sweep of a few ms);
stages with more chains scale its times by their number of chains."""


def estimate_seconds(
    model: TileEnergy,
    stages: Sequence[Stage],
    *,
    exact: TileEnergy | None = None,
    clock: Callable[[], float] = time.perf_counter,
    most_sites: int = ESTIMATE_SITES,
) -> float:
    """Seconds `run_transition(model, stages, exact=exact)` will take on this machine, from a
    timed warm-up (`sweep_cost`, about 0.2 s per lattice size and tile geometry) rather than a rate
    measured elsewhere. Per stage and energy: its chains' share of the timed sampler start,
    equilibration + sweeps sweeps and `sweeps` measurements (the exact energy's included in the
    model's pass). `clock`: seconds, e.g. a fake one in tests."""
    exact = TileEnergy.exact() if exact is None else exact
    costs: dict[tuple[int, int, int], SweepCost] = {}
    total = 0.0
    for energy, measure_exact in ((model, True), (exact, False)):
        for stage in stages:
            key = (energy.focus, energy.context, stage.size)
            if key not in costs:  # time the size's largest stage, up to most_sites chains × spins
                largest = max(s.chains * len(s.temperatures) for s in stages if s.size == stage.size)
                timed = max(1, min(largest, most_sites // stage.size**2))
                costs[key] = sweep_cost(energy, stage.size, timed, rng=np.random.default_rng(0), clock=clock)
            cost = costs[key]
            measurement = cost.measurement + (cost.exact_measurement if measure_exact else 0.0)
            seconds = cost.start + (stage.equilibration + stage.sweeps) * cost.sweep + stage.sweeps * measurement
            total += stage.chains * len(stage.temperatures) / cost.chains * seconds
    return total


def run_transition(
    model: TileEnergy,
    stages: Sequence[Stage],
    fine: Sequence[float],
    *,
    exact: TileEnergy | None = None,
    seed: int = 0,
    groups: int = 16,
    progress: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> dict:
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
    result: dict = {
        "onsager_tc": float(ONSAGER_TC),
        "fine_temperatures": [float(t) for t in fine],
        "stages": [asdict(stage) for stage in stages],
        "seed": seed,
        "groups": groups,
        "energies": {},
    }
    for e, energy in enumerate((model, exact)):
        runs: dict[int, ChainMoments] = {}
        for s, stage in enumerate(stages):
            moments = sample_moments(
                energy,
                stage.size,
                np.repeat(stage.temperatures, stage.chains),
                equilibration=stage.equilibration,
                sweeps=stage.sweeps,
                rng=np.random.default_rng([seed, e, s]),
                measure_exact=energy is model,
                progress=progress,
            )
            runs[stage.size] = runs[stage.size].merge(moments) if stage.size in runs else moments
            if on_stage is not None:
                on_stage(
                    f"{energy.name} energy, stage {s + 1} of {len(stages)} (L = {stage.size}, "
                    f"{stage.chains * len(stage.temperatures)} chains): {moments.seconds:.0f} s"
                )
        crossings = binder_crossings(runs, fine, groups)
        proposals = sum(m.proposals for m in runs.values())
        seconds = sum(m.seconds for m in runs.values())
        result["energies"][energy.name] = {
            "observables": {str(size): observables(m, groups) for size, m in runs.items()},
            "crossings": crossings,
            "tc": crossings[-1]["tc"],
            "tc_error": crossings[-1]["error"],
            "proposals": proposals,
            "seconds": seconds,
            "rate": proposals / seconds,
        }
    return result


def temperature_grid(low: float, high: float, step: float) -> np.ndarray:
    """Temperatures low, low + step, …, up to high (included when on the grid), float64, rounded
    to 1e-9 so that grids of equal temperatures compare equal."""
    if not 0 < low <= high < math.inf or not step > 0:
        raise EDNNError(f"temperatures need 0 < low <= high and step > 0 (J/k_B), got {low}, {high}, step {step}")
    return np.round(low + step * np.arange(math.floor((high - low) / step + 1e-9) + 1), 9)
