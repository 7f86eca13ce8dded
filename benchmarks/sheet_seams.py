"""What the giant sheet's seams cost, with and without blending the patches' thermal
displacements across them (`ednn.systems.seam_blend`): on a sheet of the giant benchmark's pool,
the REBO energy the seams add (the sheet's energy minus its patches' energies, each periodic
as in training), how much of it the EDNN sees, the EDNN's error, and the spread of bond
lengths at seams against inside patches and the training frames.

    python benchmarks/sheet_seams.py [--patches 16x16] [--blend 0 4 8 12]
        [--model models/porous-graphene-rebo.safetensors] [--work data/giant]
        [--frames data/porous/porous-every5.h5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

import ednn
from ednn.cli.arguments import parse_pair
from ednn.io.giant import GiantFile
from ednn.io.structures import StructureFile
from ednn.references.lammps import rebo_energies
from ednn.systems.porous import BOND_CUTOFF
from ednn.systems.porous_sheet import EDGE_MARGIN, slot_choice, write_porous_sheet
from giant_sheet import POOL, SEED, pool

SEAM_BAND = 1.5
"""Å from a seam within which both atoms of a bond count as 'at the seam'."""


def bond_spread(atoms: Atoms, patch: np.ndarray | None = None) -> dict:
    """Std of bond lengths (Å): all bonds, or split into seam and interior bonds of a sheet
    tiled by patches of in-plane size `patch` (Å)."""
    i, j, d = neighbor_list("ijd", atoms, BOND_CUTOFF)
    if patch is None:
        return {"all": float(d.std())}
    xy = np.mod(atoms.positions[:, :2], patch)
    near = (np.minimum(xy, patch - xy) < SEAM_BAND).any(1)
    seam = near[i] & near[j]
    return {
        "seam": float(d[seam].std()),
        "interior": float(d[~near[i] & ~near[j]].std()),
        "seam_bonds_share": float(seam.mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", default="16x16")
    parser.add_argument("--blend", type=float, nargs="+", default=[0.0, 4.0, 8.0, 12.0])
    parser.add_argument("--model", type=Path, default=Path("models/porous-graphene-rebo.safetensors"))
    parser.add_argument("--work", type=Path, default=Path("data/giant"))
    parser.add_argument("--frames", type=Path, default=Path("data/porous/porous-every5.h5"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    nx, ny = parse_pair(args.patches)
    patches, model = pool(args.work), ednn.load(args.model)
    slots = np.concatenate([slot_choice(SEED, i, ny, POOL) for i in range(nx)])
    tiles_exact, tiles_ednn = rebo_energies(patches)[slots].sum(), model.predict_atoms(patches)[slots].sum()
    frames = StructureFile(args.frames).structures(np.arange(0, 500, 5))
    training = np.mean([bond_spread(f)["all"] for f in frames])
    print(f"bond-length std of training frames ({len(frames)} of {args.frames.name}): {training:.4f} Å")
    for blend in args.blend:
        path = args.work / f"porous-{nx}x{ny}-pool{POOL}-seed{SEED}-edge{EDGE_MARGIN:g}-blend{blend:g}.h5"
        if not path.exists():
            write_porous_sheet(path, (nx, ny), patches, seed=SEED, blend=blend, progress=False)
        with GiantFile(path) as giant:
            bins = giant.bins
            sheet = Atoms(numbers=bins.numbers[:], positions=bins.positions[:], cell=bins.cell, pbc=True)
            patch = np.asarray(bins.lengths) / np.asarray(bins.counts)  # a porous sheet's bins are its patches
        n, exact, predicted = len(sheet), rebo_energies([sheet])[0], model.predict_atoms([sheet])[0]
        spread = bond_spread(sheet, patch)
        print(
            f"blend {blend:4.1f} Å ({n:,d} atoms): EDNN error {1e3 * (predicted - exact) / n:+.3f} meV/atom; "
            f"seams add {1e3 * (exact - tiles_exact) / n:+.3f} meV/atom (REBO), the EDNN sees "
            f"{1e3 * (predicted - tiles_ednn) / n:+.3f}; bond-length std at seams {spread['seam']:.4f} Å "
            f"({100 * spread['seam_bonds_share']:.1f} % of bonds), inside patches {spread['interior']:.4f} Å",
            flush=True,
        )


if __name__ == "__main__":
    main()
