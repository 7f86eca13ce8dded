"""`ednn label`: reference energies for the structures of a structure file."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.cli.output import command_line


@click.command()
@click.argument("structures", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--method",
    "-m",
    default="gfn1-xtb",
    show_default=True,
    help="gfn1-xtb or gfn2-xtb (tblite), tersoff-bcn (matscipy), or any ASE calculator "
    "as 'module:factory' (called with no arguments).",
)
@click.option(
    "--workers", "-j", type=click.IntRange(1), default=1, show_default=True, help="Worker processes, one thread each."
)
def label(structures: Path, method: str, workers: int) -> None:
    """Compute reference energies (eV) for the structures in an ednn structure file.

    Results are written as they arrive; after an interruption run the same command
    again and only the missing ones are computed. The seconds each calculation took
    are stored beside the energies. Structures the method fails on are recorded with
    the reason and not retried; if all fail the command exits with an error, and the
    file stays open to another method.
    """
    import numpy as np

    from ednn.references.label import first_failure, label_file

    data = label_file(structures, method, workers=workers, command=command_line())
    seconds = data.label_seconds[data.labelled]
    median = np.median(seconds) if len(seconds) else float("nan")
    click.echo(
        f"{structures}: {int(data.labelled.sum())} of {len(data)} labelled "
        f"({int(data.failed.sum())} failed), median {median:.3f} s each"
    )
    failure = first_failure(data)
    if failure:
        click.echo(f"first failure: {failure}")
