"""`python -m ednn` runs the `ednn` command."""

from ednn.cli.main import run

run()
