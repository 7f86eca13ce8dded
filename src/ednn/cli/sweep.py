"""`ednn sweep`: one model per focus/context pair on one grid data file (paper §2.2)."""

from __future__ import annotations

from pathlib import Path

import click

from ednn.cli.arguments import int_list, schedule_options
from ednn.cli.data_checks import require_file


def _values(_: click.Context, __: click.Parameter, text: str) -> list[int]:
    """Comma-separated integers, at least one."""
    values = int_list(text)
    if not values:
        raise click.BadParameter("give at least one value, e.g. 1,2,4")
    return values


@click.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--focus",
    "-f",
    required=True,
    metavar="LIST",
    callback=_values,
    help="Focus values f (pixels), comma-separated, e.g. 1,2,4.",
)
@click.option(
    "--context",
    "-c",
    required=True,
    metavar="LIST",
    callback=_values,
    help="Context values c (pixels), comma-separated, e.g. 0,1,2,3.",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder of the sweep: DIR/f{f}-c{c}/ per pair, DIR/sweep.json, the heat maps.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Pairs trained at once, each in its own process of one thread (1: in this process).",
)
@click.option("--net", default="dense", show_default=True, help="Tile network (see `ednn train --help`).")
@click.option(
    "--net-option",
    "net_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the tile network, the same for every pair (as in `ednn train`). Repeatable.",
)
@click.option(
    "--capacity",
    type=click.Choice(["fixed", "paper"]),
    default="fixed",
    show_default=True,
    help="How capacity is kept comparable: fixed = the same dense hidden widths for every pair (64, 64 unless "
    "--net-option hidden=… is given; the 'lean' study of docs/ising.md); paper = the paper's Ising net, "
    "whose first layer has 32·(f+2c)² units (then 64, 64), so it grows with the tile.",
)
@click.option("--epochs", type=click.IntRange(1), default=50, show_default=True, help="Passes over the training split.")
@click.option("--batch-size", type=click.IntRange(1), default=2000, show_default=True, help="Examples per step.")
@schedule_options
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N examples of DATA.")
def sweep(data: Path, net_option: tuple[str, ...], **options: object) -> None:
    """Train one model per focus/context pair (f, c) on the grid data file DATA.

    Every pair uses the same split and training settings; the best pair is the one of lowest
    validation median |error| per configuration, or a cheaper pair within noise of it (2 bootstrap
    standard errors). Writes DIR/sweep.json (per pair: validation and test errors, parameters,
    evaluation cost in µs per site timed on 16 grids tiled to 64×64, training wall time), and heat maps of
    validation error and cost over (f, c), log colour scales: DIR/sweep-val-error.png, DIR/sweep-cost.png.

    Pairs that do not fit DATA are refused before anything trains. Interrupted? Run the same
    command again: only the pairs without a result train, each from its last checkpoint.
    """
    require_file(data, "data file")
    from ednn.cli.net_options import parse_net_options
    from ednn.train.sweep import PLOTS, SWEEP, run_sweep, table_lines

    def report(result: dict) -> None:
        click.echo(
            f"{result['name']}: validation median |error| {result['validation']['median_abs_per_system']:.3g} "
            f"per configuration, {result['train_seconds']:.0f} s"
        )

    net_options = parse_net_options(str(options["net"]), net_option)
    record = run_sweep(data, net_options=net_options, report=report, **options)
    click.echo("\n".join(table_lines(record, unit="")))
    run_dir = Path(str(options["run_dir"]))
    click.echo(f"wrote {', '.join(str(run_dir / name) for name in (SWEEP, *PLOTS.values()))}")
