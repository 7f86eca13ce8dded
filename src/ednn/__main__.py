"""`python -m ednn` runs the `ednn` command."""

from ednn.cli import run

run()
