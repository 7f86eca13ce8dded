"""`ednn sheets`: hexagonal B/C/N sheets to label and train on."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.cli.arguments import parse_pair
from ednn.cli.data_checks import require_file
from ednn.cli.output import command_line, output_place, require_new_structure_file, require_suffix
from ednn.core.errors import EDNNError

#: Training sets on the model shelf, by the (cells, seed) that regenerate them: (file, structures, models).
COMMITTED_TRAINING_SETS = {
    ((5, 3), 0): ("datasets/hexsheets-60.h5", 7000, "models/hexsheets-gfn1xtb and its ablations"),
    ((5, 3), 1): ("datasets/hexsheets-60-extra.h5", 2000, "models/hexsheets-gfn1xtb"),
}


def training_set_warning(cells: tuple[int, int], count: int, seed: int) -> str | None:
    """A warning when `sheets generate` with these settings regenerates a committed training set
    (structure k depends only on cells, seed and k, so the first `count` are the same)."""
    known = COMMITTED_TRAINING_SETS.get((tuple(cells), seed))
    if known is None:
        return None
    path, size, models = known
    return (
        f"warning: --cells {cells[0]}x{cells[1]} --seed {seed} regenerates the first {min(count, size)} "
        f"structures of {path}, the training data of {models}: errors of those models on them are not "
        "held-out errors (choose another --seed for new sheets)"
    )


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
@click.option(
    "--labels",
    "label_files",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="Label files (`ednn sheets labels`) of this stream to store in OUT, each sheet checked against its "
    "fingerprint: `ednn label OUT` then computes only the rest (repeatable).",
)
def sheets_generate(
    out: Path, cells_text: str, count: int, seed: int, decimals: int | None, label_files: tuple[Path, ...]
) -> None:
    """Random planar sheets into a new HDF5 structure file OUT (unlabelled).

    Kinds: graphene, hBN, islands, stripes, random substitution; up to 5 % vacancies;
    in-plane displacements up to 0.1 Å rms. Label them next with `ednn label OUT`.
    """
    from ednn.systems.sheets import apply_labels, generate_sheet_file

    require_new_structure_file(out)
    cells = parse_pair(cells_text)
    warning = training_set_warning(cells, count, seed)
    if warning:
        click.echo(warning, err=True)
    for labels in label_files:
        require_file(labels, "label file")
    generate_sheet_file(out, cells, count, seed, command=command_line(), decimals=decimals)
    try:
        stored = sum(apply_labels(out, labels) for labels in label_files)
    except BaseException:
        out.unlink()  # a refused label file leaves no half-labelled file behind
        raise
    click.echo(f"wrote {count} structures to {out}" + (f", {stored} of them labelled" if label_files else ""))


@sheets.command("labels")
@click.argument("structures", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Label file to write."
)
def sheets_labels(structures: Path, output: Path) -> None:
    """Keep only the labels of generated sheets: a small file with each labelled sheet's index,
    energy, label time and content fingerprint, from which `ednn sheets restore` regenerates the
    structure file (a data set that regenerates from its seed need not store its atoms)."""
    require_file(structures, "structure file")
    require_suffix(output, (".h5", ".hdf5"))
    if output.exists() and output.samefile(structures):
        raise EDNNError(f"{output} is the structure file: write the labels to another file")
    with output_place(output):
        from ednn.io.labels import write_labels

        write_labels(structures, output)
    click.echo(f"wrote the labels of {structures} to {output}")


@sheets.command("restore")
@click.argument("labels", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def sheets_restore(labels: Path, out: Path) -> None:
    """Regenerate the labelled sheets of the label file LABELS into a new structure file OUT, ready
    to train on; each sheet must regenerate to the fingerprint it was labelled with."""
    require_file(labels, "label file")
    require_new_structure_file(out)
    from ednn.systems.sheets import restore_sheet_file

    restore_sheet_file(labels, out, progress=True)
    click.echo(f"wrote {out}")
