"""REBO through LAMMPS on one core: energies (one reused instance vs a new one per structure)
and planar MD (µs per atom per step) on porous graphene starting geometries (448 sites or fewer).

    OMP_NUM_THREADS=1 python benchmarks/rebo_speed.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ednn.references.lammps import Rebo, planar_md, rebo_energies
from ednn.systems.porous import CELLS, starting_geometry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=20, help="starting geometries to time")
    parser.add_argument("--steps", type=int, default=4000, help="MD steps per geometry")
    args = parser.parse_args()
    structures = [starting_geometry(CELLS, 0, k) for k in range(args.structures)]
    atoms = np.array([len(s) for s in structures])
    with Rebo() as rebo:
        rebo.energy(structures[0])  # the first call reads CH.rebo
        start = time.perf_counter()
        for s in structures:
            rebo.energy(s)
        reused = (time.perf_counter() - start) / len(structures)
    start = time.perf_counter()
    for s in structures:
        rebo_energies([s])
    fresh = (time.perf_counter() - start) / len(structures)
    print(
        f"energy of one structure ({atoms.mean():.0f} atoms on average): {1e3 * reused:.2f} ms with one "
        f"reused LAMMPS instance, {1e3 * fresh:.2f} ms with a new instance each ({fresh / reused:.1f}x)"
    )
    per_step = []
    for k, s in enumerate(structures[:5]):
        start = time.perf_counter()
        planar_md(s, frames=1, every=1, equilibration=args.steps - 1, seed=k + 1)
        per_step.append((time.perf_counter() - start) / (args.steps * len(s)))
    print(
        f"planar MD: {1e6 * np.median(per_step):.2f} µs per atom per step (median of {len(per_step)} "
        f"geometries, {args.steps} steps each, range {1e6 * min(per_step):.2f}–{1e6 * max(per_step):.2f})"
    )


if __name__ == "__main__":
    main()
