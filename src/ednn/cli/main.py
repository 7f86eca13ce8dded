"""The `ednn` command: the root group, its subcommands (one module each in `ednn.cli`) and `run`."""

from __future__ import annotations

import signal
import sys
import warnings

import click

from ednn.cli.evaluate import evaluate
from ednn.cli.export import export
from ednn.cli.import_structures import import_structures
from ednn.cli.info import info
from ednn.cli.ising import ising
from ednn.cli.label import label
from ednn.cli.porous import porous
from ednn.cli.predict import predict
from ednn.cli.quickstart import quickstart
from ednn.cli.report import report
from ednn.cli.sheets import sheets
from ednn.cli.simulate import mc, md
from ednn.cli.sweep import sweep
from ednn.cli.train import train
from ednn.core.errors import EDNNError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ednn")
def main() -> None:
    """Extensive deep neural networks: learn an extensive quantity (energy,
    magnetisation, ...) of periodic grids from small examples, predict it on
    grids of any size.

    Start with `ednn quickstart`; see `ednn COMMAND --help` for each step.
    """


for command in (
    ising,
    train,
    sweep,
    evaluate,
    predict,
    export,
    info,
    quickstart,
    report,
    sheets,
    porous,
    md,
    mc,
    label,
    import_structures,
):
    main.add_command(command)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line on standard error, without the source line Python adds."""
    click.echo(f"warning: {str(message).splitlines()[0]}", err=True)


def _interrupt(signum, frame) -> None:
    """SIGTERM ends a run as Ctrl-C does: what finished is saved, the same command resumes."""
    raise KeyboardInterrupt


def run() -> None:
    """Entry point: one-line errors instead of tracebacks for user mistakes, one-line warnings;
    SIGTERM and SIGINT interrupt a run cleanly (also in a background job, whose shell ignores SIGINT)."""
    warnings.showwarning = _show_warning
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        main(standalone_mode=False)
    except EDNNError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted: run the same command again to resume (add --resume for `ednn train`)", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
