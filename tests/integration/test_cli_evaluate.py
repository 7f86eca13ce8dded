"""`ednn evaluate` checks where its picture goes before it evaluates anything."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models/hexsheets-gfn1xtb.safetensors"
DATA = ROOT / "datasets/hexsheets-540.h5"


@pytest.mark.parametrize(
    ("plot", "message"),
    [
        ("out.txt", "error: --plot {tmp}/out.txt: a picture's name ends in .png, .pdf, .svg"),
        ("file/p.png", "error: cannot make the folder {tmp}/file for p.png"),
    ],
)
def test_a_bad_plot_path_is_refused_before_the_evaluation(ednn_cli, tmp_path, plot, message):
    (tmp_path / "file").write_text("a file, not a folder")
    result = ednn_cli("evaluate", MODEL, DATA, "--plot", tmp_path / plot)
    assert result.returncode == 2 and result.stdout == ""  # no summary: nothing was evaluated
    assert result.stderr.startswith(message.format(tmp=tmp_path)) and result.stderr.count("\n") == 1
