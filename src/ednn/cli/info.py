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
    and metrics, the SHA-256 of its weights (checked on loading) and how many training and
    validation examples it has fingerprints of (JSON)."""
    require_model_file(model)
    from ednn.io.model_file import load, model_config, stored_weights_digest

    loaded = load(model)
    config = model_config(loaded)
    config["net"]["parameters"] = sum(p.numel() for p in loaded.net.parameters())
    config["weights_sha256"] = stored_weights_digest(model)
    seen = loaded.training_fingerprints
    config["training_fingerprints"] = (
        {"kind": seen["kind"], **{key: len(seen[key]) for key in ("train", "val")}} if seen else None
    )
    click.echo(json.dumps(config, indent=2))
