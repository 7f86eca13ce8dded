"""`ednn sheets`: hexagonal B/C/N sheets to label and train on."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.cli.arguments import parse_pair
from ednn.cli.output import command_line, require_new_structure_file


@click.group()
def sheets() -> None:
    """Hexagonal B/C/N sheets (paper §3.2.1): graphene, hBN and heterostructures."""


@sheets.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--cells",
    "cells_text",
    default="5x3",
    show_default=True,
    help="Rectangular four-atom honeycomb cells along x and y (a = 2.50 Å): 5x3 is the "
    "12.50 × 12.99 Å, 60-site cell; 10x6 and 15x9 its 2×2 and 3×3 supercells.",
)
@click.option("--count", "-n", type=click.IntRange(1), default=7000, show_default=True, help="Number of structures.")
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Random seed; structure k depends only on (seed, cells, k).",
)
@click.option(
    "--decimals",
    type=click.IntRange(1, 8),
    default=None,
    help="Round positions to this many decimals of an Å and store them as scaled integers: "
    "4 (0.1 mÅ) takes about a third of the space. Labels are computed from the stored "
    "positions.  [default: full precision]",
)
def sheets_generate(out: Path, cells_text: str, count: int, seed: int, decimals: int | None) -> None:
    """Random planar sheets into a new HDF5 structure file OUT (unlabelled).

    Kinds: graphene, hBN, islands, stripes, random substitution; up to 5 % vacancies;
    in-plane displacements up to 0.1 Å rms. Label them next with `ednn label OUT`.
    """
    from ednn.systems.sheets import generate_sheet_file

    require_new_structure_file(out)
    generate_sheet_file(out, parse_pair(cells_text), count, seed, command=command_line(), decimals=decimals)
    click.echo(f"wrote {count} structures to {out}")
