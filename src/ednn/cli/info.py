"""`ednn info`: what a model file holds."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ednn.cli.data_checks import require_model_file


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
def info(model: Path) -> None:
    """Show what MODEL is: geometry, network and its parameter count, scaling, training data
    and metrics (JSON)."""
    require_model_file(model)
    from ednn.io.model_file import load, model_config

    loaded = load(model)
    config = model_config(loaded)
    config["net"]["parameters"] = sum(p.numel() for p in loaded.net.parameters())
    click.echo(json.dumps(config, indent=2))
