"""`ednn report`: docs/reproduction.md, every number of the paper beside ours, from the result files."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.core.errors import EDNNError


@click.command()
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="The ednn checkout whose docs/results/*.json and models/ the report is made from.",
)
@click.option("--check", is_flag=True, help="Write nothing; fail if docs/reproduction.md is not up to date.")
def report(root: Path, check: bool) -> None:
    """Regenerate docs/reproduction.md and its summary figure: every number and figure of the paper
    beside ours, read from the result files the benchmarks write (docs/results/*.json) and the
    committed models' metadata, with the command, machine and date that produced each.

    Rerun a benchmark (benchmarks/*.py), then `ednn report`.
    """
    from ednn.report.build import REPORT, is_current, write_report

    if check:
        if not is_current(root):
            raise EDNNError(f"{root / REPORT} is not what the result files make now: run `ednn report`")
        click.echo(f"{root / REPORT} is up to date")
        return
    for path in write_report(root):
        click.echo(f"wrote {path}")
