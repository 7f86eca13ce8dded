"""`ednn export`: a grid model as one ONNX graph or a torch.export program, for other runtimes."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ednn.cli.data_checks import require_model_file
from ednn.cli.output import output_place, require_suffix
from ednn.core.errors import EDNNError

#: File name endings of each format.
SUFFIXES = {"onnx": ".onnx", "torch": ".pt2"}


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(sorted(SUFFIXES)),
    default="onnx",
    show_default=True,
    help="onnx: one ONNX graph (onnxruntime and others); torch: a torch.export program (.pt2).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The file to write (.onnx or .pt2); written whole or not at all.",
)
def export(model: Path, file_format: str, output: Path) -> None:
    """Export the grid model MODEL as one graph: periodic padding, tiles, the tile network, the sum
    and the physical total.

    Input: grids float32 (N, C, *spatial), channel first, each spatial size a whole number of focus
    regions (the graph cannot check it: another size makes it fail). Output: totals float64
    (N, outputs) in the unit of the model's target. The export is checked against `ednn predict` on
    two grid sizes before it is kept. Atom models do not export. See docs/export.md.
    """
    require_model_file(model)
    require_suffix(output, (SUFFIXES[file_format],))
    if output.exists() and os.path.samefile(output, model):
        raise EDNNError(f"{output} is the model being exported: write the export to another file")
    with output_place(output):  # an unwritable place fails now, not after the export
        import ednn

        loaded = ednn.load(model)
        if file_format == "onnx":
            from ednn.export.onnx import export_onnx

            export_onnx(loaded, output)
        else:
            from ednn.export.program import export_torch

            export_torch(loaded, output)
    layout = f"grids (N, {loaded.channels}, *spatial) float32 → totals (N, {loaded.outputs}) float64"
    click.echo(f"wrote {output} ({file_format}: {layout})")
