"""The atom-model helpers of ednn.testing: they pass on a committed sheet model, and each one
fails, with a message saying what broke, for a model that breaks its property."""

import numpy as np
import pytest

import ednn
from ednn.core.errors import EDNNError
from ednn.io.structures import StructureFile
from ednn.testing import (
    assert_permutation_invariant,
    assert_supercell_extensive,
    assert_whole_region_translation_invariant,
)

MODEL = "models/ablations/hexsheets-gfn1xtb-qeq.safetensors"


@pytest.fixture(scope="module")
def model():
    return ednn.load(MODEL)


@pytest.fixture(scope="module")
def sheet():
    """A 60-site B/C/N sheet of the training distribution (12.50 × 12.99 Å)."""
    return StructureFile("datasets/hexsheets-60.h5").structures([0])[0]


def patched(monkeypatch, model, extra):
    """Make model.predict_atoms add extra(atoms) (eV) to each structure's energy."""
    original = model.predict_atoms

    def predict_atoms(structures, placements=1):
        listed = [structures] if hasattr(structures, "positions") else list(structures)
        return original(listed, placements) + np.array([extra(a) for a in listed])

    monkeypatch.setattr(model, "predict_atoms", predict_atoms)


def test_a_committed_sheet_model_passes_all_three(model, sheet):
    assert_permutation_invariant(model, sheet)
    assert_supercell_extensive(model, sheet)
    assert_supercell_extensive(model, sheet, reps=(3, 1))
    assert_whole_region_translation_invariant(model, sheet)
    other = StructureFile("datasets/hexsheets-60.h5").structures([1])[0]
    assert_permutation_invariant(model, [sheet, other], permutations=1, seed=5)  # lists too


def test_the_helpers_leave_the_structures_as_they_were(model, sheet):
    before = sheet.copy()
    assert_permutation_invariant(model, sheet, permutations=1)
    assert_whole_region_translation_invariant(model, sheet, shifts=[(1, 1)])
    np.testing.assert_array_equal(sheet.numbers, before.numbers)
    np.testing.assert_array_equal(sheet.positions, before.positions)


def test_a_term_that_reads_atoms_by_index_is_not_permutation_invariant(model, sheet, monkeypatch):
    patched(monkeypatch, model, lambda atoms: 0.5 * atoms.positions[0, 0])  # first atom's x (Å) × 0.5 eV/Å
    with pytest.raises(
        AssertionError,
        match=r"not permutation invariant: shuffling the atoms of structure 0 "
        r"\(order 0\) changed its energy by a relative",
    ):
        assert_permutation_invariant(model, sheet)


def test_a_constant_per_structure_is_not_extensive_beyond_its_tolerance(model, sheet, monkeypatch):
    energy = model.predict_atoms(sheet)[0]
    patched(monkeypatch, model, lambda atoms: 1.0)  # 1 eV per structure, whatever its size
    with pytest.raises(AssertionError, match=r"not extensive: the 2 × 2 supercell of structure 0") as excinfo:
        assert_supercell_extensive(model, sheet)
    # 4 (E + 1) against 4 E + 1: off by 3 eV in 4 |E|
    relative = 3.0 / (4 * abs(energy + 1.0))
    assert f"relative {relative:.3g} (rtol 1e-06)" in str(excinfo.value)
    assert_supercell_extensive(model, sheet, rtol=1.01 * relative)


def test_a_term_that_depends_on_where_the_atoms_sit_is_not_translation_invariant(model, sheet, monkeypatch):
    patched(monkeypatch, model, lambda atoms: 1e-3 * atoms.positions[:, 1].sum())  # 1 meV/Å along y, per atom
    assert_whole_region_translation_invariant(model, sheet, shifts=[(2, 0)])  # x moves: nothing sees it
    with pytest.raises(
        AssertionError,
        match=r"moving structure 0 by \(0, 1\) focus regions "
        r"\(0.0000, 3.2476 Å\) changed its energy",
    ):
        assert_whole_region_translation_invariant(model, sheet)


def test_a_focus_region_is_focus_pixels(model):
    assert model.focus == 16
    np.testing.assert_allclose(np.multiply(model.imaging.pixel_size, model.focus), [12.5 / 4, 12.99038106 / 4])


def test_reps_must_be_whole_and_positive(model, sheet):
    with pytest.raises(EDNNError, match="at least 1"):
        assert_supercell_extensive(model, sheet, reps=(0, 2))
