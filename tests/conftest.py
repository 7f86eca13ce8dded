import sys
from types import SimpleNamespace

import pytest

from ednn.cli.main import run


@pytest.fixture
def ednn_cli(capsys, monkeypatch):
    """Run the `ednn` entry point in this process; returns (returncode, stdout, stderr)."""

    def call(*args):
        monkeypatch.setattr(sys, "argv", ["ednn", *map(str, args)])
        capsys.readouterr()
        try:
            run()
            code = 0
        except SystemExit as exc:
            code = exc.code or 0
        out, err = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out, stderr=err)

    return call
