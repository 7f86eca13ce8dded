"""`ednn evaluate`: errors of a trained model on labelled grids or structures."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ednn.cli.arguments import device_option, placements_option
from ednn.cli.data_checks import check_data_kind, check_energy_method, require_file, require_model_file
from ednn.cli.output import json_text, output_place, print_atom_summary, print_grid_summary, write_output
from ednn.core.errors import EDNNError

if TYPE_CHECKING:
    import numpy as np

    from ednn.core.model import EDNN

#: File endings --plot accepts (formats matplotlib writes).
PICTURE_SUFFIXES = (".png", ".pdf", ".svg")


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--split",
    type=click.Choice(["test", "val", "train"]),
    default=None,
    help="Evaluate only this split of the model's own training file.",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write parity and error plots to this picture (.png, .pdf or .svg).",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the error summary as JSON.",
)
@placements_option
@device_option
def evaluate(
    model: Path, data: Path, split: str | None, plot: Path | None, json_out: Path | None, placements: int, device: str
) -> None:
    """Errors of MODEL on the labelled grids or structures in DATA.

    Grid models: DATA (.h5/.npz) holds x and the model's target dataset (usually
    `energy`); errors per system and per site, in the target's unit. Atom models: DATA
    is an ednn structure file or any ASE-readable file with energies (extxyz, ASE db,
    OUTCAR); errors in meV/Å², meV/atom and eV per structure.
    """
    require_model_file(model)
    require_file(data, "data file")
    if plot is not None and plot.suffix.lower() not in PICTURE_SUFFIXES:
        raise EDNNError(f"--plot {plot}: a picture's name ends in {', '.join(PICTURE_SUFFIXES)}")
    with output_place(plot) if plot is not None else nullcontext():  # a bad folder fails now, not after the work
        _evaluate(model, data, split, plot, json_out, placements, device)


def _evaluate(
    model: Path, data: Path, split: str | None, plot: Path | None, json_out: Path | None, placements: int, device: str
) -> None:
    """The evaluation once the arguments are checked: summary printed, plot and JSON written."""
    import ednn
    from ednn.analysis.plots import parity_plot
    from ednn.io.giant import is_giant_file
    from ednn.train.workflow import evaluate_on_file

    loaded = ednn.load(model, device=device)
    check_data_kind(loaded, model, data)
    check_energy_method(loaded, model, data)
    if loaded.imaging is not None and is_giant_file(data):
        raise EDNNError(
            f"{data} is a giant-structure file: these carry no reference energies to evaluate against; "
            "use `ednn predict MODEL DATA` (and `ednn porous exact DATA` for its REBO energy)"
        )
    label = f"{data.name}{' (' + split + ' split)' if split else ''}"
    if loaded.imaging is not None:
        from ednn.train.structures import evaluate_structure_file

        result = evaluate_structure_file(loaded, data, split, placements)
        summary = result["summary"]
        print_atom_summary(summary, label)
        sites, quantity, unit, site = result["n_atoms"], "energy", "eV", "atom"
    else:
        if placements != 1:
            raise EDNNError("--placements applies to atom models only")
        result = evaluate_on_file(loaded, data, split)
        summary = result["summary"]
        print_grid_summary(summary, label)
        quantity = loaded.info.get("data", {}).get("target", "energy")
        sites, unit, site = summary["n_sites"], "J" if quantity == "energy" else "", "site"
    note = _seen_note(loaded, data, result["fingerprints"], split)
    if note:
        click.echo(note, err=True)
    if plot:
        parity_plot(
            result["predicted"],
            result["true"],
            sites,
            plot,
            f"{model.name} on {data.name}",
            quantity=quantity,
            unit=unit,
            site=site,
        )
        click.echo(f"wrote {plot}")
    if json_out:
        write_output(json_out, json_text(summary), inputs=(model, data))
        click.echo(f"wrote {json_out}")


def _seen_note(model: EDNN, data: Path, found: np.ndarray, split: str | None) -> str | None:
    """A note when examples of `data` (their fingerprints `found`) are ones the model was trained
    or validated on, matched by content; for older models without fingerprints, by file."""
    from ednn.io.fingerprints import overlap
    from ednn.io.paths import file_digest

    trained_on = model.info.get("data", {}).get("sha256_16")
    own_file = bool(trained_on) and file_digest(data) == trained_on
    hint = "errors on those are not held-out"
    if own_file and split is None:
        hint = "`--split test` gives the held-out ones"
    seen = model.training_fingerprints
    if not seen:
        if own_file and split is None:
            return f"note: {data.name} is this model's training file, so most of these examples were trained on; {hint}"
        return None
    trained, validated = (overlap(found, seen[key]) for key in ("train", "val"))
    if not trained + validated:
        return None
    return (
        f"note: of the {len(found)} examples evaluated, this model was trained on {trained} and validated on "
        f"{validated} (matched by content); {hint}"
    )
