"""Forces that come from the pixel grid, not from the atoms: on perfect graphene every force
is zero by symmetry, so whatever an atom EDNN gives there is the price of seeing atoms on a
grid. Prints, for each committed sheet model, over 8 placements of the lattice on the grid:
the largest force on an atom, the rms force, the net force on the cell (its sum, which a
translation-invariant energy keeps at zero) and the spread of the energy (eV per cell).
No paper figure: the paper gives no forces for these models.

Usage: python benchmarks/grid_forces.py [--models NAME ...]   (a few seconds, one thread)
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

import ednn
from ednn.atoms.calculator import energy_and_forces
from ednn.atoms.model import placement_shifts
from ednn.systems.sheets import honeycomb

torch.set_num_threads(1)
MODELS = [
    "ablations/hexsheets-gfn1xtb-dense",
    "ablations/hexsheets-gfn1xtb-density",
    "ablations/hexsheets-gfn1xtb-qeq",
    "hexsheets-gfn1xtb",
]
PLACEMENTS = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=MODELS, help="model files in models/, without .safetensors")
    names = parser.parse_args().models
    graphene, _ = honeycomb((5, 3))
    graphene.numbers[:] = 6
    print(f"perfect 60-atom graphene (a = 2.50 Å), {PLACEMENTS} placements of the pixel grid; every force should be 0")
    print(f"{'model':36} {'max |F| eV/Å':>13} {'rms |F|':>8} {'max |net F|':>12} {'energy spread eV':>17}")
    for name in names:
        model = ednn.load(f"models/{name}.safetensors")
        region = np.asarray(model.imaging.pixel_size) * model.focus
        largest, squares, net, energies = 0.0, [], 0.0, []
        for shift in placement_shifts(PLACEMENTS) * region:
            atoms = graphene.copy()
            atoms.positions[:, :2] += shift
            energy, forces = energy_and_forces(model, atoms)
            norms = np.linalg.norm(forces, axis=1)
            largest = max(largest, norms.max())
            squares.append(np.mean(norms**2))
            net = max(net, np.linalg.norm(forces.sum(axis=0)))
            energies.append(energy)
        print(f"{name:36} {largest:13.3f} {np.sqrt(np.mean(squares)):8.3f} {net:12.3f} {np.ptp(energies):17.3f}")


if __name__ == "__main__":
    main()
