"""Streaming block inference over binned atoms, in memory and from giant-structure files."""

import re

import h5py
import numpy as np
import pytest
from ase import Atoms
from hypothesis import given, settings
from hypothesis import strategies as st

import ednn
import ednn.atoms.model
from ednn.atoms.bins import AtomBins
from ednn.atoms.blocks import stream_energy
from ednn.core.errors import EDNNError
from ednn.io.giant import GiantFile, GiantWriter, is_giant_file, write_giant
from ednn.scale.run import giant_energy
from ednn.systems.sheets import random_sheet

MODEL = "models/ablations/hexsheets-gfn1xtb-dense.safetensors"


@pytest.fixture(scope="module")
def model():
    return ednn.load(MODEL)


@pytest.fixture(scope="module")
def sheet():
    return random_sheet((15, 9), 2, 0)[0].repeat((2, 1, 1))  # 1 080 sites, 75.0 × 38.97 Å


@settings(max_examples=12, deadline=None)
@given(
    low=st.tuples(st.floats(-100, 100), st.floats(-100, 100)),
    size=st.tuples(st.floats(0.1, 90), st.floats(0.1, 60)),
    bin_size=st.sampled_from([3.0, 7.5, 20.0, 100.0]),
)
def test_a_region_holds_every_atom_inside_it_once(sheet, low, size, bin_size):
    bins = AtomBins.from_atoms(sheet, bin_size)
    high = (low[0] + size[0], low[1] + size[1])
    positions, numbers = bins.region(low, high)
    assert len(np.unique(positions, axis=0)) == len(positions)
    lengths = np.array(bins.lengths)
    xy = sheet.positions[:, :2]
    inside = np.ones(len(xy), bool)
    for a in range(2):  # periodic images of the atom inside [low, high)
        shift = np.floor((low[a] - xy[:, a]) / lengths[a]) + 1
        first = xy[:, a] + shift * lengths[a]
        inside &= (first < high[a]) | (xy[:, a] + (shift - 1) * lengths[a] >= low[a])
    found = {tuple(p) for p in np.round(positions, 9)}
    assert all(tuple(p) in found for p in np.round(sheet.positions[inside], 9))


@pytest.mark.parametrize("block_pixels", [16, 48, 200, 4096])
@pytest.mark.parametrize("bin_size", [4.0, 25.0])
def test_streaming_equals_the_whole_image(model, sheet, block_pixels, bin_size):
    expected = model.predict_atoms(sheet)[0]
    assert stream_energy(model, AtomBins.from_atoms(sheet, bin_size), block_pixels) == pytest.approx(expected, rel=1e-8)


def test_predict_atoms_streams_large_structures(model, sheet, monkeypatch):
    whole = model.predict_atoms(sheet)[0]
    monkeypatch.setattr(ednn.atoms.model, "STREAM_ABOVE_PIXELS", 1000)
    assert model.predict_atoms([sheet, sheet])[1] == pytest.approx(whole, rel=1e-8)


def test_giant_file_round_trip_and_prediction(model, sheet, tmp_path, ednn_cli):
    path = write_giant(tmp_path / "giant.h5", sheet, bin_size=10.0)
    assert is_giant_file(path) and not (tmp_path / "giant.h5.tmp").exists()
    with GiantFile(path) as giant:
        assert len(giant.bins) == len(sheet) and giant.bins.element_counts() == {
            int(z): int(n) for z, n in zip(*np.unique(sheet.numbers, return_counts=True))
        }
        stored = np.asarray(giant.bins.positions[:])
    assert sorted(map(tuple, stored.round(12))) == sorted(map(tuple, sheet.positions.round(12)))
    expected = model.predict_atoms(sheet)[0]
    assert giant_energy(model, path, block_pixels=64, progress=False) == pytest.approx(expected, rel=1e-8)
    result = ednn_cli("predict", MODEL, path)
    assert result.returncode == 0 and float(result.stdout) == pytest.approx(expected, rel=1e-9)


def test_bad_giant_files(model, sheet, tmp_path):
    with pytest.raises(EDNNError, match="does not exist"):
        GiantFile(tmp_path / "none.h5")
    writer = GiantWriter(tmp_path / "part.h5", sheet.cell.array, (4, 2))
    with pytest.raises(EDNNError, match="in order"):
        writer.write_column(1, np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(EDNNError, match="only 0 of 4"):
        writer.close()
    assert not (tmp_path / "part.h5").exists()
    path = write_giant(tmp_path / "g.h5", sheet)
    with h5py.File(path, "a") as handle:
        del handle["numbers"]
    with pytest.raises(EDNNError, match="missing dataset numbers"):
        GiantFile(path)
    with pytest.raises(EDNNError, match="rectangular"):
        AtomBins.from_atoms(Atoms("C", cell=[[10, 1, 0], [0, 10, 0], [0, 0, 5]], pbc=True))
    odd = sheet.copy()
    odd.numbers[0] = 14
    with pytest.raises(EDNNError, match="Si"):
        stream_energy(model, AtomBins.from_atoms(odd))
    small = random_sheet((4, 3), 0, 0)[0]
    with pytest.raises(EDNNError, match="nearest valid cell"):
        stream_energy(model, AtomBins.from_atoms(small))
    buckled = sheet.copy()
    buckled.positions[500, 2] += 0.5  # one atom off the plane, in one block
    with pytest.raises(EDNNError, match=r"^block \d+: the atoms spread 0.50 Å along z"):
        stream_energy(model, AtomBins.from_atoms(buckled), block_pixels=64)


def _shift_x(handle, shift):
    positions = handle["positions"][:]
    positions[:, 0] = np.mod(positions[:, 0] + shift, handle["cell"][0, 0])
    handle["positions"][:] = positions


def _cut_half(handle):
    n = len(handle["numbers"]) // 2
    handle["positions"].resize(n, axis=0)
    handle["numbers"].resize(n, axis=0)


def _set_offsets(handle, change):
    offsets = handle["offsets"][:]
    del handle["offsets"]
    handle["offsets"] = change(offsets)


def _move_out(handle):
    positions = handle["positions"][:]
    positions[:10, 0] += 500.0
    handle["positions"][:] = positions


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda h: _shift_x(h, h["cell"][0, 0] / 3), r"lies at x, y = .* in bin \d+: the file is not sorted"),
        (_move_out, "outside the cell: the file is not sorted"),
        (_cut_half, r"offsets end at (\d+) atoms, but positions have shape \((?!\1)\d+, 3\)"),
        (lambda h: _set_offsets(h, lambda o: o + 1), "start at 0 and never decrease"),
        (lambda h: _set_offsets(h, lambda o: np.r_[o[:3], o[1], o[4:]]), "start at 0 and never decrease"),
        (lambda h: _set_offsets(h, lambda o: o[:-1]), r"offsets have shape \(\d+,\), expected"),
        (lambda h: h.attrs.__setitem__("complete", False), "incomplete .*make it again"),
    ],
    ids=["misbinned", "outside", "short", "offset-start", "offset-decreasing", "offset-count", "incomplete"],
)
def test_inconsistent_giant_files_are_refused(model, sheet, tmp_path, damage, message):
    path = write_giant(tmp_path / "g.h5", sheet, bin_size=10.0)
    with h5py.File(path, "a") as handle:
        damage(handle)
    with pytest.raises(EDNNError, match=f"^{re.escape(str(path))}: .*{message}"), GiantFile(path) as giant:
        stream_energy(model, giant.bins, 64)


def test_a_killed_writer_leaves_a_file_called_incomplete(sheet, tmp_path):
    writer = GiantWriter(tmp_path / "w.h5", sheet.cell.array, (4, 2))
    writer.write_column(0, np.zeros((0, 3)), np.zeros(0))
    writer.handle.close()  # as if killed: no offsets, not complete
    with pytest.raises(EDNNError, match=r"w.h5.tmp: incomplete \(its writer stopped before the last bin\)"):
        GiantFile(writer.tmp)
    writer.tmp.unlink()


def test_unwrapped_positions_are_stored_wrapped(model, sheet, tmp_path):
    moved = sheet.copy()
    moved.positions[::7, :2] += moved.cell.lengths()[:2] * [3, -2]
    moved.positions[1, 0] = -1e-17  # np.mod rounds this one up to exactly Lx
    path = write_giant(tmp_path / "u.h5", moved, bin_size=10.0)
    expected = model.predict_atoms(moved)[0]
    with GiantFile(path) as giant:
        stored = np.asarray(giant.bins.positions[:])
        assert np.all((stored[:, :2] >= 0) & (stored[:, :2] < giant.bins.lengths))
        for block_pixels in (32, 4096):
            assert stream_energy(model, giant.bins, block_pixels) == pytest.approx(expected, rel=1e-8)


def test_a_damaged_chunk_of_a_giant_file_is_named_not_predicted(model, sheet, tmp_path, ednn_cli):
    path = write_giant(tmp_path / "giant.h5", sheet, bin_size=10.0)
    with h5py.File(path, "r") as handle:
        offset = handle["positions"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 100] ^= 0x01  # a low bit of one coordinate: a plausible, silently wrong number without a checksum
    path.write_bytes(bytes(data))
    result = ednn_cli("predict", MODEL, path)
    assert result.returncode == 2 and result.stdout == ""
    last = result.stderr.splitlines()[-1]  # after the block progress bar
    assert re.fullmatch(rf"error: {re.escape(str(path))} is damaged: atoms \d+–\d+ cannot be read \(.*\)", last)
