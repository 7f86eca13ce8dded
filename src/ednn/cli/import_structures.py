"""`ednn import`: your own labelled structures into an ednn structure file."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.cli.data_checks import require_file
from ednn.cli.output import command_line, output_place, require_new_structure_file


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--frames",
    default=":",
    show_default=True,
    help="Which structures of SOURCE, as a Python slice: '500::2' skips the first 500 "
    "frames of a trajectory and keeps every second one after them.",
)
def import_structures(source: Path, out: Path, frames: str) -> None:
    """Bring your own DFT: labelled structures from any ASE-readable file into a new
    ednn structure file OUT (.h5) to train on.

    SOURCE: extxyz with energies, an ASE database, a VASP OUTCAR, an ednn structure
    file (keeping its groups; with --frames, a thinned copy), ... — every structure must
    carry its total energy (eV).
    """
    require_new_structure_file(out)
    require_file(source, "structure file")
    with output_place(out):
        from ednn.io.structures import read_structures, write_structures

        structures, energies = read_structures(source, require_energy=True, frames=frames)
        groups = [s.info.get("group") for s in structures]
        write_structures(
            out,
            structures,
            {"imported_from": source.name, "energy_method": "imported", "command": command_line()},
            energies,
            groups=None if None in groups else groups,
        )
    click.echo(f"wrote {len(structures)} labelled structures to {out}")
