import json
import shutil
from pathlib import Path

import pytest

from ednn.core.errors import EDNNError
from ednn.report.build import REPORT, is_current, report_markdown, write_report
from ednn.report.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[3]


def test_the_committed_report_is_what_the_result_files_make():
    assert is_current(ROOT), "docs/reproduction.md is stale: run `ednn report`"


def test_the_paper_is_quoted_as_it_states_its_numbers():
    text = (ROOT / REPORT).read_text()
    for stated in ("0.028", "1.090", "14.816", "2.055", "1.122", "2.529", "1.685", "57 ms", "0.39 s", "24.7 min"):
        assert stated in text, stated


@pytest.fixture
def checkout(tmp_path):
    """A copy of the models and result files the report reads."""
    shutil.copytree(ROOT / "docs/results", tmp_path / "docs/results")
    (tmp_path / "models").mkdir()
    for name in ("ising-8x8-f1c1", "hexsheets-gfn1xtb", "porous-graphene-rebo"):
        shutil.copy(ROOT / f"models/{name}.safetensors", tmp_path / "models")
    return tmp_path


def test_values_come_from_the_result_files_and_a_missing_one_says_how_to_make_it(checkout):
    results = checkout / "docs/results"
    accuracy = json.loads((results / "ising_accuracy.json").read_text())
    accuracy["ising-8x8-f1c1 8×8 test"]["median_abs_per_system"] = 0.5
    (results / "ising_accuracy.json").write_text(json.dumps(accuracy))
    (results / "speed_atoms.json").unlink()
    text = report_markdown(checkout)
    first = next(line for line in text.splitlines() if CLAIMS[0].quantity in line)
    assert "| 0.5 J |" in first and "| 17.9 |" in first  # 0.5 / 0.028
    timing = next(line for line in text.splitlines() if "60-atom sheet" in line)
    assert "not measured (`python benchmarks/speed_atoms.py`)" in timing


def test_write_then_check_and_a_folder_without_results_is_one_line(checkout, tmp_path):
    written = write_report(checkout)
    assert [p.name for p in written] == ["reproduction.md", "reproduction-summary.png"]
    assert is_current(checkout) and written[1].stat().st_size > 10_000
    (checkout / "docs/results/graphene_gr.json").unlink()
    assert not is_current(checkout)
    with pytest.raises(EDNNError, match="holds no docs/results"):
        write_report(tmp_path / "elsewhere")


def test_the_command_checks_and_names_a_stale_report(ednn_cli, checkout):
    assert ednn_cli("report", "--root", checkout).returncode == 0
    assert ednn_cli("report", "--root", checkout, "--check").returncode == 0
    (checkout / REPORT).write_text("edited by hand\n")
    stale = ednn_cli("report", "--root", checkout, "--check")
    assert stale.returncode == 2 and stale.stderr.count("\n") == 1 and "run `ednn report`" in stale.stderr
