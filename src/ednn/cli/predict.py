"""`ednn predict`: totals of grids or structures, giant ones block by block."""

from __future__ import annotations

import csv
import io
from contextlib import nullcontext
from pathlib import Path

import click

from ednn.cli.arguments import device_option, placements_option
from ednn.cli.data_checks import check_data_kind, require_file, require_model_file
from ednn.cli.output import output_place, write_output
from ednn.core.errors import EDNNError


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--csv",
    "csv_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write index,prediction rows to this CSV instead of printing.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Giant structures: evaluate the blocks on a local Dask cluster of this many processes.",
)
@click.option(
    "--scheduler",
    default=None,
    help="Giant structures: a running Dask scheduler, e.g. tcp://host:8786 "
    "(its workers must see DATA at the same path).",
)
@click.option(
    "--block-pixels",
    type=click.IntRange(1),
    default=None,
    help="Giant structures: block edge in pixels, rounded to whole focus regions [default: 1024].",
)
@placements_option
@device_option
def predict(
    model: Path,
    data: Path,
    csv_out: Path | None,
    workers: int | None,
    scheduler: str | None,
    block_pixels: int | None,
    placements: int,
    device: str,
) -> None:
    """Predict the total of each grid or structure in DATA with MODEL.

    Grid models: DATA is .h5/.npz holding x. Atom models: DATA is an ednn structure
    file, a giant-structure file (`ednn-giant-v1`, evaluated block by block in bounded
    memory, on Dask with --workers/--scheduler), or any file ASE can read (extxyz, POSCAR,
    ASE db, OUTCAR, ...); totals in eV. One line (or CSV row) per grid or structure, in
    the unit of the model's target.
    """
    require_model_file(model)
    require_file(data, "data file")
    with output_place(csv_out) if csv_out and str(csv_out) != "-" else nullcontext():  # a bad --csv fails now
        import ednn
        from ednn.io.giant import is_giant_file
        from ednn.io.grids import read_grids

        loaded = ednn.load(model, device=device)
        check_data_kind(loaded, model, data)
        giant = loaded.imaging is not None and is_giant_file(data)
        if (workers or scheduler or block_pixels) and not giant:
            raise EDNNError("--workers, --scheduler and --block-pixels apply to giant-structure files only")
        if (workers or scheduler) and device != "cpu":
            raise EDNNError("Dask workers evaluate on their CPUs: --device goes without --workers/--scheduler")
        if placements != 1 and (giant or loaded.imaging is None):
            raise EDNNError("--placements applies to atom models on ordinary structure files only")
        if giant:
            import numpy as np

            from ednn.scale.run import giant_energy

            totals = np.array(
                [giant_energy(loaded, data, workers=workers, scheduler=scheduler, block_pixels=block_pixels)]
            )
        elif loaded.imaging is not None:
            from ednn.io.structures import read_structures

            totals = loaded.predict_atoms(read_structures(data)[0], placements)
        else:
            totals = loaded.predict(read_grids(data, target=None)[0])
        rows = totals.reshape(len(totals), -1)
        names = loaded.targets if rows.shape[1] == len(loaded.targets) else [f"y{i}" for i in range(rows.shape[1])]
        if csv_out:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["index", *names])
            writer.writerows([i, *(repr(float(v)) for v in row)] for i, row in enumerate(rows))
            write_output(csv_out, text.getvalue(), inputs=(model, data))
            if str(csv_out) != "-":
                click.echo(f"wrote {len(rows)} predictions to {csv_out}")
        else:
            for row in rows:
                click.echo(" ".join(f"{v:.10g}" for v in row))
