"""Exact REBO energy of a giant sheet, block by block (the paper called it intractable).

REBO's energy is a sum of per-atom energies (LAMMPS `compute pe/atom`), each depending only
on atoms within a few bonds (the C–C cutoff is 2.0 Å; bond orders reach the neighbours'
neighbours). So the sheet is cut into square blocks; each block's core atoms are evaluated
together with every atom within `halo` Å around the core, in a box with `GAP` Å of empty
space around the halo (no periodic images meet), and the per-atom energies of the core atoms
are summed. Halo atoms are periodic images where the halo crosses the cell's edge (so any
block size works, down to one block per axis). Every atom is a core atom of exactly one
block; totals are summed exactly.
"""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms
from tqdm import tqdm

from ednn.atoms.bins import AtomBins
from ednn.core.errors import EDNNError
from ednn.references.lammps import Rebo

HALO = 10.0
"""Å of surroundings evaluated with each block (per-atom energies converge within ~6 Å)."""
GAP = 10.0
"""Å of vacuum between the halo and the box edge."""


def rebo_block_energy(bins: AtomBins, *, block: float = 200.0, halo: float = HALO, progress: bool = True) -> float:
    """Total REBO energy (eV) of a binned carbon sheet, from blocks of about `block` Å."""
    if halo < 6.0:
        raise EDNNError(f"a halo below 6 Å cuts REBO's bond-order reach; got {halo}")
    lengths = np.array(bins.lengths)
    if halo >= lengths.min():
        raise EDNNError(
            f"the sheet ({lengths[0]:.1f} × {lengths[1]:.1f} Å) is narrower than the {halo} Å halo; evaluate it whole"
        )
    counts = [max(1, math.floor(length / block)) for length in lengths]
    edges = [np.linspace(0.0, length, n + 1) for length, n in zip(lengths, counts)]
    energies = []
    with Rebo() as rebo:
        for i, j in tqdm(
            [(i, j) for i in range(counts[0]) for j in range(counts[1])],
            desc="REBO blocks",
            unit="block",
            disable=not progress,
        ):
            low, high = np.array([edges[0][i], edges[1][j]]), np.array([edges[0][i + 1], edges[1][j + 1]])
            positions, numbers = bins.region(low - halo, high + halo)
            wrapped = np.mod(positions[:, :2], lengths)
            images = [wrapped + lengths * (sx, sy) for sx in (-1, 0, 1) for sy in (-1, 0, 1)]
            near = [np.all((xy >= low - halo) & (xy < high + halo), axis=1) for xy in images]
            xy = np.concatenate([xy[keep] for xy, keep in zip(images, near)])
            z = np.concatenate([positions[keep, 2] for keep in near])
            numbers = np.concatenate([numbers[keep] for keep in near])
            core = np.all((xy >= low) & (xy < high), axis=1)
            if not core.any():
                continue
            origin = low - halo - GAP
            box = high - low + 2 * (halo + GAP)
            atoms = Atoms(
                numbers=numbers,
                positions=np.column_stack([xy - origin, z]),
                cell=[box[0], box[1], bins.cell[2, 2]],
                pbc=True,
            )
            per_atom = rebo.evaluate(atoms)[1]
            energies.append(math.fsum(per_atom[core]))
    return math.fsum(energies)
