"""Evaluations say when the examples are ones the model was trained or validated on, by content;
`sheets generate` says when its seed regenerates a committed training set."""

import re
from pathlib import Path

import numpy as np
import pytest

import ednn
from ednn.cli.sheets import COMMITTED_TRAINING_SETS
from ednn.io.fingerprints import overlap, structure_fingerprints
from ednn.io.structures import StructureFile, write_structures

ROOT = Path(__file__).resolve().parents[2]
SHEET_MODEL = ROOT / "models/hexsheets-gfn1xtb.safetensors"


@pytest.mark.parametrize(("cells", "seed"), list(COMMITTED_TRAINING_SETS))
def test_generate_warns_when_it_regenerates_a_committed_training_set(ednn_cli, tmp_path, cells, seed):
    path, _, _ = COMMITTED_TRAINING_SETS[(cells, seed)]
    out = tmp_path / "again.h5"
    result = ednn_cli("sheets", "generate", out, "-n", 3, "--cells", f"{cells[0]}x{cells[1]}", "--seed", seed)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: --cells {cells[0]}x{cells[1]} --seed {seed} regenerates the first 3")
    again = structure_fingerprints(StructureFile(out).structures())
    committed = structure_fingerprints(StructureFile(ROOT / path).structures(range(3)))
    np.testing.assert_array_equal(again, committed)  # the table is right: the same sheets come back


def test_no_warning_for_a_seed_of_no_training_set(ednn_cli, tmp_path):
    result = ednn_cli("sheets", "generate", tmp_path / "new.h5", "-n", 2, "--seed", 7)
    assert result.returncode == 0 and result.stderr == ""


def test_evaluate_names_the_training_examples_it_is_given_in_another_file(ednn_cli, tmp_path):
    model = ednn.load(SHEET_MODEL)
    source = StructureFile(ROOT / "datasets/hexsheets-60.h5")
    picked = source.structures(range(12))
    copy = write_structures(tmp_path / "copy.h5", picked, {"energy_method": "gfn1-xtb"}, energies=source.energy[:12])
    found = structure_fingerprints(picked)
    trained, validated = (overlap(found, model.training_fingerprints[k]) for k in ("train", "val"))
    assert trained + validated >= 9  # of 12 of its training file's structures, most were seen (80 % + 10 %)
    result = ednn_cli("evaluate", SHEET_MODEL, copy)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"note: of the 12 examples evaluated, this model was trained on {trained} and validated on {validated} "
        "(matched by content); errors on those are not held-out\n"
    )


def test_evaluate_says_nothing_about_examples_it_never_saw(ednn_cli):
    result = ednn_cli("evaluate", SHEET_MODEL, ROOT / "datasets/hexsheets-240.h5")
    assert result.returncode == 0, result.stderr
    assert not re.search("note|warning", result.stderr)
