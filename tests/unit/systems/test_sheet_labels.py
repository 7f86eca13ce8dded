"""Generated sheets keep only their labels; the structures regenerate from (seed, index), checked."""

import h5py
import numpy as np
import pytest

from ednn.core.errors import EDNNError
from ednn.io.labels import read_labels, stored_decimals, write_labels
from ednn.io.structures import StructureFile, store_labels
from ednn.systems.sheets import generate_sheet_file, restore_sheet_file


@pytest.fixture(params=[4, None], ids=["decimals-4", "full-precision"])
def labelled(tmp_path, request):
    """Five generated sheets, three labelled (one failed), as `ednn label` leaves them."""
    path = generate_sheet_file(tmp_path / "s.h5", (5, 3), 5, seed=3, decimals=request.param)
    store_labels(path, [0, 2, 4], [-400.5, -401.25, np.nan], [0.7, 0.8, 0.1], [False, False, True], ["", "", "SCF"])
    return path


def test_labels_restore_to_the_labelled_structure_file(labelled, tmp_path):
    labels = write_labels(labelled, tmp_path / "labels.h5")
    assert labels.stat().st_size < labelled.stat().st_size
    restored = StructureFile(restore_sheet_file(labels, tmp_path / "restored.h5"))
    original = StructureFile(labelled)
    np.testing.assert_array_equal(restored.energy, original.energy[[0, 2, 4]])
    np.testing.assert_array_equal(restored.failed, [False, False, True])
    assert list(restored.failure_reason) == ["", "", "SCF"]
    for a, b in zip(restored.structures(), original.structures([0, 2, 4])):
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=1e-12)
    assert restored.attrs["seed"] == 3 and restored.attrs["restored_from"] == "labels.h5"


def test_a_sheet_that_regenerates_otherwise_is_refused(labelled, tmp_path):
    labels = write_labels(labelled, tmp_path / "labels.h5")
    with h5py.File(labels, "r+") as handle:
        handle["check"][1] = handle["check"][1] ^ np.uint32(1)
    with pytest.raises(EDNNError, match=r"1 of 3 sheets \(first: index 2\) regenerate otherwise"):
        restore_sheet_file(labels, tmp_path / "restored.h5")
    assert not (tmp_path / "restored.h5").exists()


def test_bad_label_inputs_are_one_line(labelled, tmp_path):
    unlabelled = generate_sheet_file(tmp_path / "u.h5", (5, 3), 2, seed=3)
    with pytest.raises(EDNNError, match="holds no labels yet"):
        write_labels(unlabelled, tmp_path / "l.h5")
    with pytest.raises(EDNNError, match="is not an ednn label file"):
        read_labels(labelled)
    with pytest.raises(EDNNError, match="does not exist"):
        read_labels(tmp_path / "none.h5")


def test_the_commands_round_trip(ednn_cli, labelled, tmp_path):
    made = ednn_cli("sheets", "labels", labelled, "-o", tmp_path / "labels.h5")
    assert made.returncode == 0, made.stderr
    restored = ednn_cli("sheets", "restore", tmp_path / "labels.h5", tmp_path / "r.h5")
    assert restored.returncode == 0, restored.stderr
    assert len(StructureFile(tmp_path / "r.h5")) == 3
    again = ednn_cli("sheets", "restore", tmp_path / "labels.h5", tmp_path / "r.h5")
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_generate_with_labels_leaves_only_the_rest_to_label(ednn_cli, labelled, tmp_path):
    labels = write_labels(labelled, tmp_path / "labels.h5")
    decimals = ["--decimals", "4"] if stored_decimals(labelled) else []
    made = ednn_cli("sheets", "generate", tmp_path / "more.h5", "-n", 7, "--seed", 3, *decimals, "--labels", labels)
    assert made.returncode == 0 and made.stdout.strip().endswith("3 of them labelled"), made.stderr
    grown = StructureFile(tmp_path / "more.h5")
    assert np.flatnonzero(grown.labelled | grown.failed).tolist() == [0, 2, 4]
    other = ednn_cli("sheets", "generate", tmp_path / "other.h5", "-n", 7, "--seed", 4, *decimals, "--labels", labels)
    assert other.returncode == 2 and "seed 3" in other.stderr and "seed 4" in other.stderr
    assert not (tmp_path / "other.h5").exists()
    few = ednn_cli("sheets", "generate", tmp_path / "few.h5", "-n", 3, "--seed", 3, *decimals, "--labels", labels)
    assert few.returncode == 2 and "generate more" in few.stderr and not (tmp_path / "few.h5").exists()
