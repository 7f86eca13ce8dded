"""Parsers of option text and options that several commands share."""

from __future__ import annotations

from collections.abc import Callable

import click


def parse_pair(text: str) -> tuple[int, int]:
    """Two positive counts from 'NXxNY', e.g. '5x3' → (5, 3)."""
    try:
        nx, ny = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected NXxNY, e.g. 5x3, got {text!r}") from None
    if nx < 1 or ny < 1:
        raise click.BadParameter(f"counts must be positive, got {text!r}")
    return nx, ny


def int_list(text: str) -> list[int]:
    """Integers from comma-separated text, e.g. '16,32,64'."""
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {text!r}") from None


placements_option = click.option(
    "--placements",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Atom models: average each structure's prediction over this many in-plane translations spread over one "
    "focus region (removes most of the model's dependence on where the pixel grid lies; costs that many "
    "evaluations).",
)


device_option = click.option(
    "--device",
    default="cpu",
    show_default=True,
    help="Where the model runs: cpu, cuda, cuda:1, … (a device this machine has; results are the same to float "
    "tolerance, benchmarks/device_check.py).",
)


def schedule_options(command: Callable) -> Callable:
    """The learning-rate schedule, seed and split options `ednn train` and `ednn sweep` share."""
    options = [
        click.option(
            "--lr", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True, help="Initial Adam rate."
        ),
        click.option(
            "--lr-min",
            type=click.FloatRange(0, min_open=True),
            default=1e-6,
            show_default=True,
            help="Final learning rate of the cosine decay.",
        ),
        click.option(
            "--seed",
            type=click.IntRange(0),
            default=0,
            show_default=True,
            help="Seed for the split, initial weights and shuffling.",
        ),
        click.option(
            "--val-fraction",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=0.1,
            show_default=True,
            help="Share of DATA held out for validation (it monitors training; a sweep picks its best pair by it).",
        ),
        click.option(
            "--test-fraction",
            type=click.FloatRange(0, 1, max_open=True),
            default=0.1,
            show_default=True,
            help="Share of DATA held out for the final test errors.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
