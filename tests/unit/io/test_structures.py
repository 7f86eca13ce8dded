import ase.db
import ase.io
import h5py
import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

import ednn
from ednn.atoms.images import AtomImaging
from ednn.atoms.model import AtomEDNN
from ednn.core.errors import EDNNError
from ednn.core.nets import build_net
from ednn.io.structures import (
    FORMAT,
    StructureFile,
    append_structures,
    is_structure_file,
    read_structures,
    store_labels,
    update_attrs,
    write_structures,
)
from ednn.systems.sheets import random_sheet


def sheets(count, reps=(5, 3), seed=0):
    return [random_sheet(reps, seed, k)[0] for k in range(count)]


def with_energy(atoms, energy):
    atoms = atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=energy)
    return atoms


def assert_same_structures(read, written, atol=0.0):
    """Same atoms; exact for HDF5, `atol` Å for text formats (extxyz keeps 8 decimals)."""
    assert len(read) == len(written)
    for a, b in zip(read, written):
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_allclose(a.positions, b.positions, rtol=0, atol=atol)
        np.testing.assert_allclose(a.cell.array, b.cell.array, rtol=0, atol=atol)
        assert a.pbc.all()


def one_line_error(excinfo):
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


# ---- ednn's own HDF5 structure files ---------------------------------------------------


def test_round_trip_keeps_structures_and_energy_is_nan_until_labelled(tmp_path):
    written = sheets(4) + sheets(1, reps=(10, 6))  # different sizes in one file
    path = write_structures(tmp_path / "s.h5", written, {"seed": 0, "note": "made in a test"})
    assert path == tmp_path / "s.h5" and not (tmp_path / "s.h5.tmp").exists()
    assert is_structure_file(path)
    data = StructureFile(path)
    assert len(data) == 5 and data.attrs["format"] == FORMAT and data.attrs["note"] == "made in a test"
    np.testing.assert_array_equal(data.n_atoms, [len(s) for s in written])
    np.testing.assert_array_equal(data.kind, [s.info["kind"] for s in written])
    assert np.isnan(data.energy).all() and np.isnan(data.label_seconds).all() and not data.failed.any()
    assert not data.labelled.any()
    assert_same_structures(data.structures(), written)
    subset = data.structures([4, 1])
    assert [s.info["index"] for s in subset] == [4, 1] and len(subset[0]) == len(written[4])
    assert np.isnan(subset[0].info["energy"]) and subset[1].info["kind"] == written[1].info["kind"]

    store_labels(path, [3, 0], [-2.5, -1.5], [0.25, 0.5], [False, False])
    store_labels(path, [2], [np.nan], [0.1], [True])
    data = StructureFile(path)
    np.testing.assert_array_equal(data.labelled, [True, False, False, True, False])
    assert data.energy[0] == -1.5 and data.energy[3] == -2.5
    assert data.label_seconds[0] == 0.5 and data.label_seconds[3] == 0.25
    np.testing.assert_array_equal(data.failed, [False, False, True, False, False])
    assert data.structures([3])[0].info["energy"] == -2.5

    # read_structures on the file: the failed structure left out, NaN where missing; require_energy says how many
    structures, energies = read_structures(path)
    kept = [0, 1, 3, 4]
    assert_same_structures(structures, [written[k] for k in kept])
    np.testing.assert_array_equal(energies, data.energy[kept])
    with pytest.raises(EDNNError, match="2 of 4 structures have no energy") as excinfo:
        read_structures(path, require_energy=True)
    one_line_error(excinfo)


def test_positions_rounded_to_decimals_take_less_space(tmp_path):
    written = sheets(20)
    full = write_structures(tmp_path / "full.h5", written)
    compact = write_structures(tmp_path / "compact.h5", written, decimals=4)
    assert_same_structures(StructureFile(compact).structures(), written, atol=0.5e-4 + 1e-12)
    with h5py.File(full) as f, h5py.File(compact) as g:
        assert g["positions"].id.get_storage_size() < 0.5 * f["positions"].id.get_storage_size()


def test_rounded_positions_only_for_new_unlabelled_files_and_no_nan_positions(tmp_path):
    for options in ({"extendable": True}, {"energies": [-1.0, -2.0]}):
        with pytest.raises(EDNNError, match="decimals"):
            write_structures(tmp_path / "s.h5", sheets(2), decimals=4, **options)
    broken = sheets(2)
    broken[1].positions[3, 0] = np.nan
    with pytest.raises(EDNNError, match="1 structure \\(number 1\\) of 2 has NaN"):
        write_structures(tmp_path / "s.h5", broken)
    assert not (tmp_path / "s.h5").exists()


def test_written_energies_are_kept(tmp_path):
    path = write_structures(tmp_path / "s.h5", sheets(3), energies=[-1.0, -2.0, -3.0])
    structures, energies = read_structures(path, require_energy=True)
    np.testing.assert_array_equal(energies, [-1.0, -2.0, -3.0])
    assert [s.info["energy"] for s in structures] == [-1.0, -2.0, -3.0]


def test_nothing_to_write_is_an_error(tmp_path):
    with pytest.raises(EDNNError):
        write_structures(tmp_path / "s.h5", [])
    assert not (tmp_path / "s.h5").exists()


def test_groups_are_kept_and_files_without_them_read_one_group_per_structure(tmp_path):
    grouped = StructureFile(write_structures(tmp_path / "g.h5", sheets(3), groups=[4, 4, 9]))
    np.testing.assert_array_equal(grouped.group, [4, 4, 9])
    assert [s.info["group"] for s in grouped.structures()] == [4, 4, 9]
    plain = write_structures(tmp_path / "s.h5", sheets(3))  # the layout of files made before groups
    with h5py.File(plain) as f:
        assert "group" not in f
    np.testing.assert_array_equal(StructureFile(plain).group, [0, 1, 2])


def test_extendable_file_grows_and_an_interrupted_append_is_not_in_it(tmp_path):
    written = sheets(4) + sheets(1, reps=(10, 6))
    path = write_structures(tmp_path / "e.h5", [], {"seed": 3}, groups=[], extendable=True)
    empty = StructureFile(path)
    assert len(empty) == 0 and empty.group.shape == (0,) and empty.attrs["seed"] == 3
    append_structures(path, written[:2], [-1.0, -2.0], [7, 7], [0.5, 0.5])
    with h5py.File(path, "r+") as f:  # an append killed after its rows, before its offsets
        for name in ("energy", "group", "cell"):
            f[name].resize(len(f[name]) + 3, axis=0)
        f["positions"].resize(len(f["positions"]) + 50, axis=0)
    assert len(StructureFile(path)) == 2
    append_structures(path, written[2:], [-3.0, np.nan, -5.0], [8, 8, 9], [0.1, 0.2, 0.3], [False, True, False])
    data = StructureFile(path)
    assert_same_structures(data.structures(), written)
    np.testing.assert_array_equal(data.group, [7, 7, 8, 8, 9])
    np.testing.assert_array_equal(data.energy, [-1.0, -2.0, -3.0, np.nan, -5.0])
    np.testing.assert_array_equal(data.label_seconds, [0.5, 0.5, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(data.failed, [False, False, False, True, False])
    store_labels(path, [3], [np.nan], [0.2], [True], ["ValueError: no SCF convergence"])
    append_structures(path, sheets(1), [-6.0], [10], [0.4])  # the reasons grow with the file
    data = StructureFile(path)
    assert data.failure_reason.tolist() == ["", "", "", "ValueError: no SCF convergence", "", ""]
    update_attrs(path, {"command": "made in a test"})
    assert StructureFile(path).attrs["command"] == "made in a test"
    fixed = write_structures(tmp_path / "fixed.h5", sheets(1))
    with pytest.raises(EDNNError, match="not written as an extendable file") as excinfo:
        append_structures(fixed, sheets(1), groups=[0])
    one_line_error(excinfo)


def test_failure_reasons_are_kept_and_files_without_them_read_empty_reasons(tmp_path):
    path = write_structures(tmp_path / "s.h5", sheets(3))
    store_labels(path, [0, 2], [-1.0, -2.0], [0.1, 0.1], [False, False], ["", ""])
    with h5py.File(path) as f:  # no failure yet: the layout of files made before reasons were kept
        assert "failure_reason" not in f
    assert StructureFile(path).failure_reason.tolist() == ["", "", ""]
    store_labels(path, [1], [np.nan], [0.3], [True], ["NotImplementedError: No EMT-potential for B"])
    data = StructureFile(path)
    assert data.failure_reason.tolist() == ["", "NotImplementedError: No EMT-potential for B", ""]
    np.testing.assert_array_equal(data.failed, [False, True, False])
    store_labels(path, [1], [np.nan], [np.nan], [False], [""])  # cleared for a retry
    assert StructureFile(path).failure_reason.tolist() == ["", "", ""]


def test_is_structure_file_only_for_ednn_hdf5(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    text = tmp_path / "s.h5"
    text.write_text("not hdf5")
    renamed = tmp_path / "s.xyz"
    write_structures(tmp_path / "real.h5", sheets(1)).rename(renamed)
    assert not is_structure_file(other)
    assert not is_structure_file(text)
    assert not is_structure_file(renamed)  # only .h5 / .hdf5 names count
    assert not is_structure_file(tmp_path / "missing.h5")
    with pytest.raises(EDNNError, match="not an ednn structure file") as excinfo:
        StructureFile(other)
    one_line_error(excinfo)


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.95])
def test_truncated_file_is_an_error(tmp_path, keep):
    full = write_structures(tmp_path / "full.h5", sheets(3)).read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(full[: int(keep * len(full))])
    with pytest.raises(EDNNError) as excinfo:
        StructureFile(cut)
    assert "truncated or corrupt" in one_line_error(excinfo)
    with pytest.raises(EDNNError) as excinfo:
        read_structures(cut)
    one_line_error(excinfo)
    with pytest.raises(EDNNError) as excinfo:
        store_labels(cut, [0], [-1.0], [0.1], [False])
    one_line_error(excinfo)


def test_truncated_file_read_structures_says_it_is_damaged(tmp_path):
    full = write_structures(tmp_path / "full.h5", sheets(2)).read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(full[: len(full) // 2])
    with pytest.raises(EDNNError, match="truncated or corrupt"):
        read_structures(cut)


def test_missing_file_is_an_error(tmp_path):
    for call in (
        lambda p: StructureFile(p),
        lambda p: read_structures(p),
        lambda p: store_labels(p, [0], [0.0], [0.0], [False]),
    ):
        for name in ("missing.h5", "missing.extxyz"):
            with pytest.raises(EDNNError, match="does not exist") as excinfo:
                call(tmp_path / name)
            one_line_error(excinfo)


# ---- files ASE reads ---------------------------------------------------------------------


def test_extxyz_with_energies(tmp_path):
    written = sheets(3)
    energies = [-400.25, -390.5, -380.125]
    path = tmp_path / "e.extxyz"
    ase.io.write(path, [with_energy(s, e) for s, e in zip(written, energies)], format="extxyz")
    assert not is_structure_file(path)
    structures, read_energies = read_structures(path, require_energy=True)
    assert_same_structures(structures, written, atol=1e-8)
    np.testing.assert_allclose(read_energies, energies, rtol=1e-12)
    assert read_energies.dtype == np.float64


def test_extxyz_energy_in_info_without_calculator(tmp_path):
    written = sheets(2)
    for s, e in zip(written, (-1.5, -2.5)):
        s.info["energy"] = e
    path = tmp_path / "e.xyz"
    ase.io.write(path, written, format="extxyz")
    _, energies = read_structures(path, require_energy=True)
    np.testing.assert_allclose(energies, [-1.5, -2.5])


def test_ase_database(tmp_path):
    written = sheets(3)
    path = tmp_path / "e.db"
    with ase.db.connect(path) as db:
        for s, e in zip(written, (-3.0, -2.0, -1.0)):
            db.write(with_energy(s, e))
    structures, energies = read_structures(path, require_energy=True)
    assert_same_structures(structures, written)
    np.testing.assert_allclose(energies, [-3.0, -2.0, -1.0])


@pytest.mark.parametrize("name", ["unlabelled.h5", "plain.extxyz"])
def test_file_without_energies(tmp_path, name):
    path = tmp_path / name
    if path.suffix == ".h5":
        write_structures(path, sheets(2))
    else:
        ase.io.write(path, sheets(2), format="extxyz")
    structures, energies = read_structures(path)
    assert len(structures) == 2 and energies is None
    with pytest.raises(EDNNError, match="has no energies") as excinfo:
        read_structures(path, require_energy=True)
    one_line_error(excinfo)


def test_some_energies_missing(tmp_path):
    written = sheets(3)
    path = tmp_path / "some.extxyz"
    ase.io.write(path, [with_energy(written[0], -1.0), written[1], with_energy(written[2], -3.0)], format="extxyz")
    _, energies = read_structures(path)
    assert energies[0] == -1.0 and np.isnan(energies[1]) and energies[2] == -3.0
    with pytest.raises(EDNNError, match="1 of 3 structures have no energy"):
        read_structures(path, require_energy=True)


def test_nan_positions_are_named_not_taken_for_a_missing_energy(tmp_path):
    """ASE drops the energy of a structure with NaN positions: the NaN is the error to report."""
    written = [with_energy(s, e) for s, e in zip(sheets(3), (-1.0, -2.0, -3.0))]
    written[2].positions[5, 1] = np.nan
    path = tmp_path / "nanE.extxyz"
    ase.io.write(path, written, format="extxyz")
    for require_energy in (False, True):
        with pytest.raises(EDNNError, match=r"1 structure \(number 2\) of 3 has NaN") as excinfo:
            read_structures(path, require_energy=require_energy)
        one_line_error(excinfo)


@pytest.mark.parametrize("name", ["notes.txt", "notes.xyz", "notes.extxyz"])
def test_text_ase_cannot_read(tmp_path, name):
    path = tmp_path / name
    path.write_text("hello\nthis is not a structure\n")
    with pytest.raises(EDNNError, match="ASE cannot read|is not a structure file: give an ednn") as excinfo:
        read_structures(path)
    one_line_error(excinfo)


# ---- `ednn import` -----------------------------------------------------------------------


def test_cli_import_extxyz(ednn_cli, tmp_path):
    written = sheets(3) + [random_sheet((10, 6), 0, 0)[0]]
    energies = [-400.0, -395.5, -390.25, -1600.0]
    source = tmp_path / "dft.extxyz"
    ase.io.write(source, [with_energy(s, e) for s, e in zip(written, energies)], format="extxyz")
    out = tmp_path / "dft.h5"
    result = ednn_cli("import", source, out)
    assert result.returncode == 0, result.stderr
    assert "wrote 4 labelled structures" in result.stdout
    data = StructureFile(out)
    assert data.attrs["energy_method"] == "imported" and data.attrs["imported_from"] == "dft.extxyz"
    assert data.labelled.all()
    np.testing.assert_allclose(data.energy, energies)
    assert_same_structures(data.structures(), written, atol=1e-8)

    before = out.read_bytes()
    again = ednn_cli("import", source, out)
    assert again.returncode == 2 and again.stderr.startswith("error:") and "exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert out.read_bytes() == before


def test_cli_import_some_frames_of_a_trajectory(ednn_cli, tmp_path):
    written = sheets(5)
    source = tmp_path / "md.traj"
    with ase.io.Trajectory(source, "w") as trajectory:
        for k, atoms in enumerate(written):
            trajectory.write(with_energy(atoms, -400.0 - k))
    out = tmp_path / "md.h5"
    assert ednn_cli("import", source, out, "--frames", "1::2").returncode == 0
    np.testing.assert_allclose(StructureFile(out).energy, [-401.0, -403.0])
    bad = ednn_cli("import", source, tmp_path / "bad.h5", "--frames", "1:x")
    assert bad.returncode == 2 and "slice" in bad.stderr and not (tmp_path / "bad.h5").exists()
    empty = ednn_cli("import", source, tmp_path / "empty.h5", "--frames", "5:2")
    assert empty.returncode == 2 and "holds no structures in frames '5:2'" in empty.stderr


def test_cli_import_refuses_a_file_without_energies(ednn_cli, tmp_path):
    source = tmp_path / "plain.extxyz"
    ase.io.write(source, sheets(2), format="extxyz")
    result = ednn_cli("import", source, tmp_path / "out.h5")
    assert result.returncode == 2
    assert result.stderr.startswith("error:") and "no energies" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.h5").exists() and not (tmp_path / "out.h5.tmp").exists()


def test_cli_import_needs_an_h5_name_and_a_readable_source(ednn_cli, tmp_path):
    source = tmp_path / "dft.extxyz"
    ase.io.write(source, [with_energy(sheets(1)[0], -1.0)], format="extxyz")
    wrong = ednn_cli("import", source, tmp_path / "out.xyz")
    assert wrong.returncode == 2 and ".h5" in wrong.stderr
    missing = ednn_cli("import", tmp_path / "nothing.extxyz", tmp_path / "out.h5")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "out.h5").exists()


def test_any_kind_text_round_trips(tmp_path):
    odd = Atoms("C2", positions=[[0, 0, 0], [1.4, 0, 0]], cell=[5, 5, 5], pbc=True)
    odd.info["kind"] = "dimer ünïcode"
    data = StructureFile(write_structures(tmp_path / "s.h5", [odd]))
    assert data.kind[0] == "dimer ünïcode"
    assert_same_structures(data.structures(), [odd])


def test_cli_import_into_a_missing_folder_makes_it(ednn_cli, tmp_path):
    source = tmp_path / "dft.extxyz"
    ase.io.write(source, [with_energy(sheets(1)[0], -1.0)], format="extxyz")
    result = ednn_cli("import", source, tmp_path / "new" / "deeper" / "out.h5")
    assert result.returncode == 0, result.stderr
    assert StructureFile(tmp_path / "new" / "deeper" / "out.h5").energy.tolist() == [-1.0]
    (tmp_path / "a_file").write_text("not a folder")
    blocked = ednn_cli("import", source, tmp_path / "a_file" / "out.h5")
    assert blocked.returncode == 2 and blocked.stderr.startswith("error: cannot make the folder")
    assert len(blocked.stderr.strip().splitlines()) == 1


def test_cli_import_and_evaluate_name_nan_positions(ednn_cli, tmp_path):
    written = [with_energy(s, e) for s, e in zip(sheets(2), (-1.0, -2.0))]
    written[1].positions[0, 0] = np.nan
    source = tmp_path / "nanE.extxyz"
    ase.io.write(source, written, format="extxyz")
    imaging = AtomImaging(pixel_size=(0.5, 0.5), elements=(5, 6, 7))
    model = ednn.save_model(
        AtomEDNN(build_net("atom_cnn", tile=8, channels=3), 4, 2, channels=3, imaging=imaging),
        tmp_path / "m.safetensors",
    )
    for command in (("import", source, tmp_path / "out.h5"), ("evaluate", model, source)):
        result = ednn_cli(*command)
        assert result.returncode == 2 and result.stderr.startswith("error:"), result.stderr
        assert "(number 1) of 2 has NaN" in result.stderr and "no energ" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.h5").exists()


def test_structures_that_are_not_periodic_in_the_plane_are_refused(tmp_path):
    written = sheets(2)
    written[1].pbc = [True, False, True]
    with pytest.raises(EDNNError, match="not periodic along x and y") as excinfo:
        write_structures(tmp_path / "s.h5", written)
    one_line_error(excinfo)
    assert not (tmp_path / "s.h5").exists()


def flip_byte_in_chunk(path, dataset, at=5):
    """Flip one bit inside the first stored chunk of `dataset` (as a disk error would)."""
    with h5py.File(path, "r") as handle:
        offset = handle[dataset].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + at] ^= 0x04
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("extendable", [False, True])
def test_a_flipped_bit_in_the_energies_is_named_as_damage_not_read_as_a_number(tmp_path, extendable):
    path = write_structures(
        tmp_path / "s.h5", sheets(3), energies=[-1.0, -2.0, -3.0], groups=[0, 1, 2], extendable=extendable
    )
    if extendable:
        append_structures(path, sheets(1, seed=1), energies=[-4.0], groups=[9])
    store_labels(path, [1], [-2.5], [0.1], [False])  # a rewritten label gets a new checksum
    assert StructureFile(path).energy[1] == -2.5
    flip_byte_in_chunk(path, "energy")
    with pytest.raises(EDNNError, match=r"s.h5 is damaged: a checksum of its labels or cells does not match") as info:
        read_structures(path)
    one_line_error(info)


def test_damaged_atoms_are_named_in_gzip_chunks_and_in_rounded_positions(tmp_path):
    plain = write_structures(tmp_path / "plain.h5", sheets(2))
    flip_byte_in_chunk(plain, "positions", at=40)
    with pytest.raises(EDNNError, match="plain.h5 is (damaged|not a readable)") as info:
        StructureFile(plain).structures()
    one_line_error(info)
    rounded = write_structures(tmp_path / "rounded.h5", sheets(2), decimals=4)
    assert len(StructureFile(rounded).structures()) == 2  # its digest matches as written
    flip_byte_in_chunk(rounded, "positions", at=40)
    with pytest.raises(EDNNError, match="rounded.h5 is (damaged|not a readable)") as info:
        StructureFile(rounded).structures()
    one_line_error(info)
