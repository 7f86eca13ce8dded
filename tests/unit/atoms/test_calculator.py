"""Forces by autograd through the renderer, and the ASE calculator of an atom EDNN."""

import re
import shutil

import numpy as np
import pytest
import torch
from ase.calculators.calculator import PropertyNotImplementedError
from ase.optimize import BFGS

import ednn
from ednn.core.errors import EDNNError
from ednn.systems.sheets import random_sheet

MODEL = "models/ablations/hexsheets-gfn1xtb-dense.safetensors"
DENSITY_MODEL = "models/ablations/hexsheets-gfn1xtb-density.safetensors"


@pytest.fixture(scope="module", params=[MODEL, DENSITY_MODEL], ids=["dense", "local_density"])
def model(request):
    return ednn.load(request.param)


def sheet(index=3, seed=5, cells=(5, 3)):
    return random_sheet(cells, seed, index)[0]


def test_forces_match_central_finite_differences_in_float64(model):
    atoms = sheet()
    atoms.calc = model.calculator("float64")
    forces = atoms.get_forces()
    h = 1e-4
    rng = np.random.default_rng(0)
    for i in rng.choice(len(atoms), 8, replace=False):
        for axis in range(2):
            shifted = []
            for sign in (1, -1):
                moved = atoms.copy()
                moved.positions[i, axis] += sign * h
                moved.calc = model.calculator("float64")
                shifted.append(moved.get_potential_energy())
            numeric = -(shifted[0] - shifted[1]) / (2 * h)
            assert abs(numeric - forces[i, axis]) <= 1e-4 * np.abs(forces).max()
    assert np.all(forces[:, 2] == 0)


def test_energies_equal_predict_atoms(model):
    structures = [sheet(k) for k in range(4)] + [sheet(0, cells=(10, 6))]
    for atoms in structures:
        atoms.calc = model.calculator()
        reference = model.predict_atoms(atoms)[0]
        assert atoms.get_potential_energy() == pytest.approx(reference, rel=1e-9)


def test_forces_are_extensive_over_a_supercell(model):
    atoms = sheet()
    atoms.calc = model.calculator("float64")
    supercell = atoms.repeat((2, 2, 1))
    supercell.calc = model.calculator("float64")
    np.testing.assert_allclose(supercell.get_forces()[: len(atoms)], atoms.get_forces(), atol=1e-8)


def test_works_with_an_ase_optimiser(model):
    atoms = sheet(index=7)
    atoms.calc = model.calculator()
    start = atoms.get_potential_energy()
    BFGS(atoms, logfile=None).run(fmax=0.5, steps=20)
    assert atoms.get_potential_energy() < start


def test_refuses_what_it_cannot_do(model):
    atoms = sheet()
    atoms.calc = model.calculator()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()
    with pytest.raises(EDNNError, match="precision"):
        model.calculator("float16")
    with pytest.raises(EDNNError, match="trained on grids"):
        ednn.load("models/ising-8x8-f1c1.safetensors").calculator()
    wrong = sheet(cells=(4, 3))
    wrong.calc = model.calculator()
    with pytest.raises(EDNNError, match="nearest valid cell"):
        wrong.get_forces()


def test_identity_follows_the_content_not_the_file(tmp_path):
    shutil.copy(MODEL, tmp_path / "renamed.safetensors")
    model = ednn.load(MODEL)
    identity = model.calculator().identity
    assert re.fullmatch(r"ednn model [0-9a-f]{12}", identity)
    assert ednn.load(tmp_path / "renamed.safetensors").calculator().identity == identity == model.identity()
    assert model.calculator("float64").identity == f"{identity} (float64)"
    assert ednn.load(DENSITY_MODEL).identity() != identity
    model.info["note"] = "descriptive only"
    assert model.identity() == identity
    with torch.no_grad():
        next(model.net.parameters())[0, 0] += 1e-6
    assert model.identity() != identity
