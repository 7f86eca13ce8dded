"""Porous graphene labelled with REBO (paper §3.2.2, with REBO in place of DFT).

A starting geometry is a pristine graphene patch of `cells` = (nx, ny) rectangular
four-atom cells with a = 2.46 Å (14×8: 34.44 × 34.09 Å, 448 sites) in the plane z = 10 Å
of a 3D-periodic cell 20 Å high, with 0–4 round pores (per 14×8 area) of radius 2–6 Å cut
out (periodic: minimum image), after which atoms with fewer than two neighbours within
1.8 Å are removed until none is left. Geometry k depends only on (seed, cells, k).

The data set: from each starting geometry, planar REBO MD at 1000 K (0.5 fs steps,
Nosé–Hoover, z frozen; `ednn.references.lammps.planar_md`), `equilibration` steps, then
`frames` frames every `every` steps, each stored with its REBO energy (eV) and its
starting geometry's index as `group`. `generate_porous_file` runs the starting geometries
in parallel worker processes (one thread each) and appends each one's frames as soon as
it is done, so a killed run loses only the starting geometries in flight, and running it
again computes only the missing ones. Frames of geometry k are the same in any run; the
file holds geometries in the order they finished.
"""

from __future__ import annotations

import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.io.run_record import check_resume
from ednn.io.structures import StructureFile, append_structures, update_attrs, write_structures
from ednn.references.lammps import MDFrames, new_lammps, planar_md
from ednn.references.workers import finished_batches
from ednn.systems.sheets import _periodic_distance, honeycomb

LATTICE_A = 2.46
"""Graphene lattice constant in Å (C–C bond 1.420 Å)."""
CELLS = (14, 8)
VACUUM = 20.0
MAX_PORES = 4
"""Pores per 14×8 area (34.44 × 34.09 Å): 0 to this many, uniformly."""
PORE_RADIUS = (2.0, 6.0)
BOND_CUTOFF = 1.8
TEMPERATURE_K = 1000.0
TIMESTEP_FS = 0.5
TDAMP_FS = 100.0
EQUILIBRATION = 2000
"""Default MD steps before the first frame (1 ps at 0.5 fs; from 0 K positions and 1000 K
velocities, temperature and potential energy are stationary after 0.5 ps)."""
KIND = "porous"


def prune(atoms: Atoms, cutoff: float = BOND_CUTOFF) -> Atoms:
    """A copy without atoms that have fewer than two neighbours within `cutoff` Å, repeatedly."""
    atoms = atoms.copy()
    while len(atoms):
        neighbours = np.bincount(neighbor_list("i", atoms, cutoff), minlength=len(atoms))
        loose = np.flatnonzero(neighbours < 2)
        if len(loose) == 0:
            break
        del atoms[loose.tolist()]
    return atoms


def cut_pores(sheet: Atoms, centres: np.ndarray, radii: np.ndarray) -> Atoms:
    """`sheet` (orthorhombic cell) without the atoms within radii (P,) Å of in-plane centres
    (P, 2) Å (periodic: minimum image), then pruned."""
    xy, lengths = sheet.positions[:, :2], np.asarray(sheet.cell.lengths()[:2])
    inside = np.zeros(len(sheet), bool)
    for centre, radius in zip(centres, radii):
        inside |= _periodic_distance(xy, centre, lengths) < radius
    return prune(sheet[~inside])


def starting_geometry(cells: tuple[int, int], seed: int, index: int) -> Atoms:
    """Starting geometry `index` of the stream (seed, cells): a porous graphene sheet.

    info: 'kind' = 'porous', 'pores' = number of pores cut.
    """
    rng = np.random.default_rng([seed, cells[0], cells[1], index])
    sheet, _ = honeycomb(cells, a=LATTICE_A, vacuum=VACUUM)
    lengths = np.asarray(sheet.cell.lengths()[:2])
    most = max(1, round(MAX_PORES * cells[0] * cells[1] / (CELLS[0] * CELLS[1])))
    while True:  # tiny cells can lose every atom: draw again
        pores = int(rng.integers(0, most + 1))
        centres = rng.uniform(0, lengths, size=(pores, 2))
        porous = cut_pores(sheet, centres, rng.uniform(*PORE_RADIUS, size=pores))
        if len(porous):
            break
    porous.info.update(kind=KIND, pores=pores)
    return porous


def md_seed(cells: tuple[int, int], seed: int, index: int) -> int:
    """LAMMPS velocity seed of starting geometry `index` (1 ≤ seed < 9·10⁸)."""
    return int(np.random.default_rng([seed, cells[0], cells[1], index, 1]).integers(1, 900_000_000))


def _simulate(task: tuple) -> tuple[int, Atoms, MDFrames | None, float]:
    index, cells, seed, frames, every, equilibration = task
    start = time.perf_counter()
    atoms = starting_geometry(cells, seed, index)
    try:
        md = planar_md(
            atoms,
            frames=frames,
            every=every,
            equilibration=equilibration,
            seed=md_seed(cells, seed, index),
            temperature_K=TEMPERATURE_K,
            timestep_fs=TIMESTEP_FS,
            tdamp_fs=TDAMP_FS,
        )
    except Exception:  # LAMMPS refused or lost atoms: the geometry is stored as failed
        md = None
    return index, atoms, md, time.perf_counter() - start


def _append(path: Path, index: int, atoms: Atoms, md: MDFrames | None, seconds: float) -> None:
    if md is None:
        append_structures(path, [atoms], [np.nan], [index], [seconds], [True])
        return
    structures = []
    for positions in md.positions:
        frame = atoms.copy()
        frame.positions = positions
        structures.append(frame)
    n = len(structures)
    append_structures(path, structures, md.energies, [index] * n, [seconds / n] * n)


def generate_porous_file(
    path: str | Path,
    *,
    starts: int,
    frames: int,
    every: int,
    seed: int,
    cells: tuple[int, int] = CELLS,
    equilibration: int = EQUILIBRATION,
    workers: int = 1,
    progress: bool = True,
    command: str = "",
) -> StructureFile:
    """Make (or complete) a structure file of REBO-labelled MD frames from starting geometries
    0..starts-1; return it. Frames of one geometry share `group` = its index; each frame's
    `label_seconds` is its geometry's wall seconds (starting geometry and MD) over `frames`.
    A geometry whose MD fails is stored once, unmoved, as `failed`. `command`, if given, is
    recorded in the file's `command` attribute.
    """
    path = Path(path)
    if path.suffix not in (".h5", ".hdf5"):
        raise EDNNError(f"{path}: the file name must end in .h5 or .hdf5")
    for name, value, low in (
        ("starts", starts, 1),
        ("frames", frames, 1),
        ("every", every, 1),
        ("equilibration", equilibration, 0),
        ("seed", seed, 0),
        ("workers", workers, 1),
    ):
        if value < low:
            raise EDNNError(f"{name} must be >= {low}, got {value}")
    if min(cells) < 1:
        raise EDNNError(f"cells must be positive, got {cells[0]}x{cells[1]}")
    lmp = new_lammps()  # fail early, in this process, if LAMMPS or MPI is missing
    version = lmp.version()
    lmp.close()
    # the generator's recorded name (committed data carry it; files of one stream compare it)
    recipe = {
        "generator": "ednn.atoms.porous",
        "cells": list(cells),
        "seed": seed,
        "frames": frames,
        "every": every,
        "equilibration_steps": equilibration,
        "lattice_a": LATTICE_A,
        "vacuum": VACUUM,
        "temperature_K": TEMPERATURE_K,
        "timestep_fs": TIMESTEP_FS,
        "tdamp_fs": TDAMP_FS,
        "energy_method": "rebo",
    }
    if path.exists():
        data = StructureFile(path)
        check_resume(data.attrs, recipe, f"{path} was made", "give a new file name")
        done = set(data.group.tolist())
    else:
        write_structures(
            path,
            [],
            {**recipe, "potential": "CH.rebo (LAMMPS pair_style rebo)", "lammps_version": version},
            groups=[],
            extendable=True,
        )
        done = set()
    if command:
        update_attrs(path, {"command": command})
    todo = [k for k in range(starts) if k not in done]
    with tqdm(
        total=starts, initial=starts - len(todo), unit="start", desc=f"REBO MD {path.name}", disable=not progress
    ) as bar:
        try:
            tasks = [(k, cells, seed, frames, every, equilibration) for k in todo]
            with finished_batches(_simulate, tasks, workers) as batches:
                for batch in batches:
                    for result in batch:
                        _append(path, *result)
                        bar.update()
        except BrokenProcessPool:
            raise EDNNError(
                "an MD worker died (out of memory or crashed); finished starting geometries are "
                "saved; run the same command again to go on"
            ) from None
    return StructureFile(path)
