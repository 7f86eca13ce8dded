"""Paper §3.1: the Ising phase transition with the trained EDNN as the Monte Carlo energy.

Metropolis Monte Carlo (ednn.systems.ising.transition: tabulated tile energies, sublattice updates
over many independent chains) on L = 16, 32, 64 at T = 1.5–3.5, once with the EDNN
f=1, c=1 energy and once with the exact energy, through the same sampler. Tc from the
Binder-cumulant crossings (jackknife errors over groups of chains) beside Onsager's.
Prints the table with the targets and the proposal rates; writes
<out>/results/ising_transition.json and <out>/figures/ising-transition-*.png.

    python benchmarks/ising_transition.py [--model models/ising-8x8-f1c1.safetensors] [--out docs]
    python benchmarks/ising_transition.py --quick     # smoke run (L = 8, 16), into runs/
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

import ednn
from ednn.systems.ising.plots import transition_plots
from ednn.systems.ising.sampler import proposal_rate
from ednn.systems.ising.tile_energy import TileEnergy
from ednn.systems.ising.transition import run_transition, temperature_grid, transition_stages
from ednn.systems.ising.transition_report import summary_lines

#: (sizes, coarse T grid, fine T grid for the crossing, effort, sweep factor)
FULL = ((16, 32, 64), temperature_grid(1.5, 3.5, 0.1), temperature_grid(2.24, 2.30, 0.01), 1.0, 1.0)
QUICK = ((8, 16), temperature_grid(1.5, 3.5, 0.25), temperature_grid(2.17, 2.37, 0.05), 0.25, 0.1)
TC_TOLERANCE = 0.01  # relative to Onsager's
RATE_TARGET = 1e6  # spin-flip proposals per second with the EDNN energy
RATE_SIZE, RATE_CHAINS, RATE_SWEEPS, RATE_REPEATS = 64, 64, 100, 5  # median of the repeats, energies alternating


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/ising-8x8-f1c1.safetensors"))
    parser.add_argument("--out", type=Path, default=None, help="default: docs (--quick: runs/ising-transition-quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs, to check the pipeline")
    args = parser.parse_args()
    out = args.out or Path("runs/ising-transition-quick" if args.quick else "docs")
    torch.set_num_threads(1)
    sizes, coarse, fine, effort, sweep_factor = QUICK if args.quick else FULL
    start = time.perf_counter()
    model_energy = TileEnergy.from_model(ednn.load(args.model))
    exact_energy = TileEnergy.exact(model_energy.focus, model_energy.context)
    stages = transition_stages(sizes, coarse, fine, effort, sweep_factor)
    result = run_transition(model_energy, stages, fine, exact=exact_energy, seed=args.seed)
    timings = [
        [
            proposal_rate(energy, RATE_SIZE, RATE_CHAINS, RATE_SWEEPS, np.random.default_rng([args.seed, k]))
            for energy in (model_energy, exact_energy)
        ]
        for k in range(RATE_REPEATS)
    ]
    rates = dict(zip((model_energy.name, exact_energy.name), np.median(timings, axis=0)))
    wall = time.perf_counter() - start

    onsager = result["onsager_tc"]
    runs = result["energies"]
    ednn_run, exact_run = runs[model_energy.name], runs[exact_energy.name]
    difference = ednn_run["tc"] - exact_run["tc"]
    combined = math.hypot(ednn_run["tc_error"], exact_run["tc_error"])
    targets = {
        "tc_within_1pct_of_onsager": bool(abs(ednn_run["tc"] / onsager - 1) <= TC_TOLERANCE),
        "tc_within_error_bars_of_exact": bool(abs(difference) <= combined),
        "rate_at_least_1e6": bool(rates[model_energy.name] >= RATE_TARGET),
    }
    largest = max(sizes)
    model_error = np.abs(ednn_run["observables"][str(largest)]["energy_difference"])

    print(
        f"\nIsing phase transition (§3.1) — {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"one thread, torch {torch.__version__}; {wall:.0f} s in all"
    )
    print(f"sizes {', '.join(map(str, sizes))}; crossing temperatures {', '.join(f'{t:g}' for t in fine)}\n")
    print("\n".join(summary_lines(result)))
    print(
        f"\nTc (largest pair): EDNN {ednn_run['tc']:.4f} ± {ednn_run['tc_error']:.4f}, "
        f"exact {exact_run['tc']:.4f} ± {exact_run['tc_error']:.4f}, Onsager {onsager:.4f}"
    )
    print(
        f"  EDNN vs Onsager {100 * (ednn_run['tc'] / onsager - 1):+.2f}% (target within ±1%): "
        f"{'yes' if targets['tc_within_1pct_of_onsager'] else 'NO'}"
    )
    print(
        f"  EDNN − exact {difference:+.4f} ± {combined:.4f} ({abs(difference) / combined:.1f} σ; target within "
        f"the combined error bar): {'yes' if targets['tc_within_error_bars_of_exact'] else 'NO'}; inside the "
        f"exact run's own ±{exact_run['tc_error']:.4f}: {'yes' if abs(difference) <= exact_run['tc_error'] else 'no'}"
    )
    print(
        f"\nproposals per second, bare sweeps (L={RATE_SIZE}, {RATE_CHAINS} chains, one thread, median of "
        f"{RATE_REPEATS}): "
        f"EDNN {rates[model_energy.name]:.3g}, exact {rates[exact_energy.name]:.3g} (target ≥ 1e6 with the "
        f"EDNN: {'yes' if targets['rate_at_least_1e6'] else 'NO'})"
    )
    print(f"EDNN-driven chains, L={largest}: |⟨E_EDNN − E_exact⟩|/N at most {model_error.max():.2g} J over all T")

    result.update(
        {
            "date": str(datetime.date.today()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, one thread",
            "torch": torch.__version__,
            "model": str(args.model),
            "quick": args.quick,
            "wall_seconds": wall,
            "bare_sweep_rates": {
                "size": RATE_SIZE,
                "chains": RATE_CHAINS,
                "sweeps": RATE_SWEEPS,
                "repeats": RATE_REPEATS,
                **{name: float(rate) for name, rate in rates.items()},
            },
            "targets": targets,
            "tc_difference": difference,
            "tc_difference_error": combined,
        }
    )
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "results" / "ising_transition.json").write_text(json.dumps(result, indent=1))
    transition_plots(result, out / "figures" / "ising-transition")


if __name__ == "__main__":
    main()
