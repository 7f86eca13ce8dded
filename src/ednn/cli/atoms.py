"""`ednn` commands for atomic structures: make sheets, label them with a reference code."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click
import numpy as np

from ednn.core.errors import EDNNError


def parse_pair(text: str) -> tuple[int, int]:
    try:
        nx, ny = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected NXxNY, e.g. 5x3, got {text!r}") from None
    if nx < 1 or ny < 1:
        raise click.BadParameter(f"counts must be positive, got {text!r}")
    return nx, ny


@click.group()
def sheets() -> None:
    """Hexagonal B/C/N sheets (paper §3.2.1): graphene, hBN and heterostructures."""


@sheets.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cells", "cells_text", default="5x3", show_default=True,
              help="Rectangular four-atom honeycomb cells along x and y (a = 2.50 Å): 5x3 is the "
                   "12.50 × 12.99 Å, 60-site cell; 10x6 and 15x9 its 2×2 and 3×3 supercells.")
@click.option("--count", "-n", type=click.IntRange(1), default=7000, show_default=True, help="Number of structures.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Random seed; structure k depends only on (seed, cells, k).")
@click.option("--decimals", type=click.IntRange(1, 8), default=None,
              help="Round positions to this many decimals of an Å and store them as scaled integers: "
                   "4 (0.1 mÅ) takes about a third of the space. Labels are computed from the stored "
                   "positions.  [default: full precision]")
def sheets_generate(out: Path, cells_text: str, count: int, seed: int, decimals: int | None) -> None:
    """Random planar sheets into a new HDF5 structure file OUT (unlabelled).

    Kinds: graphene, hBN, islands, stripes, random substitution; up to 5 % vacancies;
    in-plane displacements up to 0.1 Å rms. Label them next with `ednn label OUT`.
    """
    from ednn.systems.sheets import generate_sheet_file

    if out.suffix not in (".h5", ".hdf5"):
        raise EDNNError(f"{out}: the file name must end in .h5 or .hdf5")
    if out.exists():
        raise EDNNError(f"{out} exists; structure files are never overwritten (delete it first)")
    command = shlex.join(["ednn", *sys.argv[1:]])
    generate_sheet_file(out, parse_pair(cells_text), count, seed, command=command, decimals=decimals)
    click.echo(f"wrote {count} structures to {out}")


@click.command()
@click.argument("structures", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--method", "-m", default="gfn1-xtb", show_default=True,
              help="gfn1-xtb or gfn2-xtb (tblite), tersoff-bcn (matscipy), or any ASE calculator "
                   "as 'module:factory' (called with no arguments).")
@click.option("--workers", "-j", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes, one thread each.")
def label(structures: Path, method: str, workers: int) -> None:
    """Compute reference energies (eV) for the structures in an ednn structure file.

    Results are written as they arrive; after an interruption run the same command
    again and only the missing ones are computed. The seconds each calculation took
    are stored beside the energies. Structures the method fails on are recorded with
    the reason and not retried; if all fail the command exits with an error, and the
    file stays open to another method.
    """
    from ednn.references.label import first_failure, label_file

    data = label_file(structures, method, workers=workers, command=shlex.join(["ednn", *sys.argv[1:]]))
    seconds = data.label_seconds[data.labelled]
    click.echo(f"{structures}: {int(data.labelled.sum())} of {len(data)} labelled "
               f"({int(data.failed.sum())} failed), median {np.median(seconds) if len(seconds) else float('nan'):.3f} s each")
    failure = first_failure(data)
    if failure:
        click.echo(f"first failure: {failure}")


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--frames", default=":", show_default=True,
              help="Which structures of SOURCE, as a Python slice: '500::2' skips the first 500 "
                   "frames of a trajectory and keeps every second one after them.")
def import_structures(source: Path, out: Path, frames: str) -> None:
    """Bring your own DFT: labelled structures from any ASE-readable file into a new
    ednn structure file OUT (.h5) to train on.

    SOURCE: extxyz with energies, an ASE database, a VASP OUTCAR, an ednn structure
    file (keeping its groups; with --frames, a thinned copy), ... — every structure must
    carry its total energy (eV).
    """
    from ednn.io.structures import read_structures, write_structures

    if out.suffix not in (".h5", ".hdf5"):
        raise EDNNError(f"{out}: the file name must end in .h5 or .hdf5")
    if out.exists():
        raise EDNNError(f"{out} exists; structure files are never overwritten (delete it first)")
    structures, energies = read_structures(source, require_energy=True, frames=frames)
    groups = [s.info.get("group") for s in structures]
    write_structures(out, structures, {"imported_from": source.name, "energy_method": "imported",
                                       "command": shlex.join(["ednn", *sys.argv[1:]])}, energies,
                     groups=None if None in groups else groups)
    click.echo(f"wrote {len(structures)} labelled structures to {out}")
