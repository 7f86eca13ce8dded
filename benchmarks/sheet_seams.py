"""How the giant sheet's seams differ from the rest: the spread of bond lengths between atoms
within 1.5 Å of a patch seam, against bonds inside patches, and against the training frames.

    python benchmarks/sheet_seams.py [--sheet data/giant/porous-5x5-pool64-seed0-phased.h5]
                                     [--frames data/porous/porous-every5.h5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from ednn.atoms.porous import BOND_CUTOFF
from ednn.data.atoms import StructureFile
from ednn.scale.bins import GiantFile

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
    return {"seam": float(d[seam].std()), "interior": float(d[~near[i] & ~near[j]].std()),
            "seam_bonds_share": float(seam.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheet", type=Path, default=Path("data/giant/porous-5x5-pool64-seed0-phased.h5"))
    parser.add_argument("--frames", type=Path, default=Path("data/porous/porous-every5.h5"))
    args = parser.parse_args()
    with GiantFile(args.sheet) as giant:
        bins = giant.bins
        sheet = Atoms(numbers=bins.numbers[:], positions=bins.positions[:], cell=bins.cell, pbc=True)
        patch = np.asarray(bins.lengths) / np.asarray(bins.counts)  # a porous sheet's bins are its patches
    spread = bond_spread(sheet, patch)
    frames = StructureFile(args.frames).structures(np.arange(0, 500, 5))
    training = np.mean([bond_spread(f)["all"] for f in frames])
    print(f"{args.sheet.name}: bond-length std at seams {spread['seam']:.4f} Å "
          f"({100 * spread['seam_bonds_share']:.1f} % of bonds), inside patches {spread['interior']:.4f} Å; "
          f"training frames ({len(frames)} of {args.frames.name}): {training:.4f} Å")


if __name__ == "__main__":
    main()
