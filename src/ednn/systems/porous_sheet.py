"""Giant porous graphene sheets (paper Figs. 10–12), made patch by patch and written bin
column by bin column, so a 1 µm² sheet of ~35 million atoms never sits in memory at once.

The sheet is an nx × ny array of 14×8-cell patches (34.44 × 34.09 Å, a = 2.46 Å, the
training cell). Each patch slot takes one patch from a pool of thermalised porous patches:
pristine patches with 0–4 round pores of radius 2–6 Å (the training generator's statistics,
`ednn.systems.porous`), except that each pore lies at least `EDGE_MARGIN` Å inside its patch,
so patches meet along pristine lattice; loose atoms pruned; then planar REBO MD at 1000 K
for the training data's equilibration (1 ps) and on to a random one of the training data's 50
frames (`patch_phase`): patches all started from the ideal lattice at one temperature share
the thermostat's oscillation, so taking each right after equilibration would make the whole
pool colder than the training frames (by 7.6 meV/atom, docs/porous.md). All patches share one
lattice (registry matches across seams), and their thermal displacements are blended across
the seams (`ednn.systems.seam_blend`), which would otherwise put two independent MD runs side
by side — the one place whose local environments differ from the training frames. Slot
(i, j) picks its patch from (seed, i, j) alone, so any part of the sheet can be made again
without the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.io.giant import GiantWriter
from ednn.references.lammps import planar_md
from ednn.systems.porous import (
    CELLS,
    EQUILIBRATION,
    LATTICE_A,
    MAX_PORES,
    PORE_RADIUS,
    TDAMP_FS,
    TEMPERATURE_K,
    TIMESTEP_FS,
    VACUUM,
    cut_pores,
    md_seed,
)
from ednn.systems.seam_blend import blended_column, pool_field
from ednn.systems.sheets import honeycomb

EDGE_MARGIN = 4.0
"""Å between a pore's rim and its patch's edge: seams then run through pristine lattice in
both patches, where blending their displacements costs least (at 1.5 Å, rim atoms' large
displacements were blended into pristine sites: 2.7 instead of 1.7 meV/atom of extra REBO
energy on a 16 × 16 sheet, `benchmarks/sheet_seams.py`)."""
PHASE_FRAMES, PHASE_EVERY = 50, 40
"""The training data's frames after equilibration: 50, every 40 MD steps (`ednn porous generate`)."""
BLEND_WIDTH = 8.0
"""Å on each side of a seam over which thermal displacements are blended (`ednn.systems.seam_blend`)."""
SQUARE_MICRON_PATCHES = (290, 293)
"""Patches per axis of a 1 µm² sheet: 9 987.6 × 9 988.4 Å (0.9976 µm²)."""


def inner_porous_patch(seed: int, index: int) -> Atoms:
    """Porous patch `index` of stream `seed` with every pore inside the patch."""
    rng = np.random.default_rng([seed, index, 7])
    sheet, _ = honeycomb(CELLS, a=LATTICE_A, vacuum=VACUUM)
    lengths = np.asarray(sheet.cell.lengths()[:2])
    count = int(rng.integers(0, MAX_PORES + 1))
    radii = rng.uniform(*PORE_RADIUS, size=count)
    reach = radii[:, None] + EDGE_MARGIN
    centres = reach + rng.uniform(size=(count, 2)) * (lengths - 2 * reach)
    return cut_pores(sheet, centres, radii)


def patch_phase(seed: int, index: int) -> int:
    """Which of the training data's frames (0 … PHASE_FRAMES − 1) patch `index` is taken at."""
    return int(np.random.default_rng([seed, index, 13]).integers(0, PHASE_FRAMES))


def patch_pool(size: int, seed: int, progress: bool = True) -> list[Atoms]:
    """`size` thermalised porous patches (planar REBO MD at 1000 K, each taken at the
    training frame `patch_phase`)."""
    if size < 1:
        raise EDNNError(f"the patch pool needs at least one patch, got {size}")
    pool = []
    for k in tqdm(range(size), desc="patches", unit="patch", disable=not progress):
        patch = inner_porous_patch(seed, k)
        md = planar_md(
            patch,
            frames=patch_phase(seed, k) + 1,
            every=PHASE_EVERY,
            equilibration=EQUILIBRATION,
            seed=md_seed(CELLS, seed, k),
            temperature_K=TEMPERATURE_K,
            timestep_fs=TIMESTEP_FS,
            tdamp_fs=TDAMP_FS,
        )
        patch.positions = md.positions[-1]
        patch.wrap()
        pool.append(patch)
    return pool


def slot_choice(seed: int, column: int, rows: int, pool: int) -> np.ndarray:
    """Pool index (rows,) of every slot in patch column `column`."""
    return np.random.default_rng([seed, column, 11]).integers(0, pool, size=rows)


def write_porous_sheet(
    path: str | Path,
    patches: tuple[int, int],
    pool: list[Atoms],
    *,
    seed: int = 0,
    blend: float = BLEND_WIDTH,
    progress: bool = True,
) -> Path:
    """Write a porous sheet of `patches` (nx, ny) patch slots filled from `pool` (see
    `patch_pool`) to a giant-structure file (bins = patches), the thermal displacements blended
    across seams over `blend` Å (`ednn.systems.seam_blend`; 0: plain tiling). Returns the path;
    the file appears only when complete."""
    nx, ny = patches
    if nx < 1 or ny < 1:
        raise EDNNError(f"need at least 1 × 1 patches, got {nx} × {ny}")
    if not pool:
        raise EDNNError("the patch pool is empty")
    field = pool_field(pool) if blend else None
    patch_cell = pool[0].cell.array
    lengths = np.array([nx * patch_cell[0, 0], ny * patch_cell[1, 1]])
    cell = np.diag([*lengths, patch_cell[2, 2]])
    writer = GiantWriter(
        path,
        cell,
        (nx, ny),
        {
            "kind": "porous graphene",
            "pool_size": len(pool),
            "seed": seed,
            "patches": [nx, ny],
            "seam_blend_width": blend,
        },
    )
    try:
        for i in tqdm(range(nx), desc="columns", unit="column", disable=not progress):
            choice = np.stack([slot_choice(seed, (i + d) % nx, ny, len(pool)) for d in (-1, 0, 1)])
            if field is None:
                positions = np.concatenate(
                    [pool[k].positions + [0.0, j * patch_cell[1, 1], 0.0] for j, k in enumerate(choice[1])]
                )
                numbers = np.concatenate([pool[k].numbers for k in choice[1]])
            else:
                positions, numbers = blended_column(pool, field, choice, blend)
            positions[:, 0] += i * patch_cell[0, 0]
            positions[:, :2] %= lengths  # a blended atom may cross a row seam; columns keep their atoms
            writer.write_column(i, positions, numbers)
    except BaseException:
        writer.abort()
        raise
    return writer.close()
