"""Grid data sets (.h5, .npz) read back what was written, and refuse bad files in one line."""

import h5py
import numpy as np
import pytest

from ednn.core.errors import EDNNError
from ednn.io.grids import read_datasets, read_grids


def spins(n=5, size=4, seed=0):
    return (2 * np.random.default_rng(seed).integers(0, 2, (n, size, size)) - 1).astype(np.int8)


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize("suffix", [".h5", ".hdf5", ".npz"])
def test_read_grids_gives_back_what_was_written(tmp_path, suffix):
    x, energy = spins(), np.array([-8.0, 0.0, 4.0, -32.0, 12.0])
    path = tmp_path / f"d{suffix}"
    if suffix == ".npz":
        np.savez(path, x=x, energy=energy, magnetisation=x.mean((1, 2)))
    else:
        with h5py.File(path, "w") as f:
            f["x"], f["energy"], f["magnetisation"] = x, energy, x.mean((1, 2))
            f.attrs["seed"] = 7
    read_x, read_y, attrs = read_grids(path)
    assert read_x.dtype == np.int8
    np.testing.assert_array_equal(read_x, x)
    np.testing.assert_array_equal(read_y, energy)
    assert attrs == ({} if suffix == ".npz" else {"seed": 7})
    _, magnetisation, _ = read_grids(path, target="magnetisation", require_target=True)
    np.testing.assert_array_equal(magnetisation, x.mean((1, 2)))
    only_x, none, _ = read_grids(path, target=None)
    np.testing.assert_array_equal(only_x, x)
    assert none is None


def test_a_missing_target_is_none_unless_required(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x=spins())
    assert read_grids(path)[1] is None
    with pytest.raises(EDNNError, match=r"x.npz has no dataset 'energy'") as excinfo:
        read_grids(path, require_target=True)
    one_line(excinfo)


def test_read_datasets_reads_optional_names_only_when_present(tmp_path):
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f["x"], f["T"] = spins(3), np.array([1.5, 2.0, 2.5])
        f.create_group("energy")  # a group, not a dataset: not read
    data, _ = read_datasets(path, ["x"], ["T", "energy", "absent"])
    assert sorted(data) == ["T", "x"]
    np.testing.assert_array_equal(data["T"], [1.5, 2.0, 2.5])


def bad_files(tmp_path):
    """(path, message) of each kind of file read_grids refuses."""
    x = spins(3)
    cases = [(tmp_path / "absent.h5", "does not exist"), (tmp_path / "d.csv", "unknown data format '.csv'")]
    (tmp_path / "d.csv").write_text("x\n1\n")
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    cases.append((corrupt, "not a readable HDF5 file"))
    broken_npz = tmp_path / "broken.npz"
    broken_npz.write_bytes(b"PK\x03\x04 not really a zip")
    cases.append((broken_npz, "not a readable .npz file"))
    np.savez(tmp_path / "whole.npz", x=x, energy=np.zeros(3))
    for name, size in (("cut.npz", 200), ("empty.npz", 0)):  # truncated, as by a full disk
        (tmp_path / name).write_bytes((tmp_path / "whole.npz").read_bytes()[:size])
        cases.append((tmp_path / name, "not a readable .npz file"))
    incomplete = tmp_path / "incomplete.h5"
    with h5py.File(incomplete, "w") as f:
        f["x"], f["energy"] = x, np.zeros(3)
        f.attrs["complete"] = False
    cases.append((incomplete, "incomplete (its generation was interrupted)"))
    lengths = tmp_path / "lengths.npz"
    np.savez(lengths, x=x, energy=np.zeros(2))
    cases.append((lengths, "different lengths {'x': 3, 'energy': 2}"))
    nan = tmp_path / "nan.h5"
    with h5py.File(nan, "w") as f:
        f["x"], f["energy"] = x, np.array([0.0, np.nan, 1.0])
    cases.append((nan, "'energy' contains NaN or infinite values"))
    no_x = tmp_path / "no_x.npz"
    np.savez(no_x, energy=np.zeros(3))
    cases.append((no_x, "has no dataset 'x'"))
    return cases


def test_bad_files_are_refused_in_one_line_naming_the_file(tmp_path):
    for path, message in bad_files(tmp_path):
        with pytest.raises(EDNNError) as excinfo:
            read_grids(path)
        text = one_line(excinfo)
        assert message in text and path.name in text, text


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"x": np.float64(1.0)}, "dataset 'x' is a single value"),
        ({"x": np.ones(4), "energy": np.zeros(4)}, "'x' has shape (4,); grids need (N, *spatial)"),
        ({"x": spins(3), "energy": np.float64(0.0)}, "dataset 'energy' is a single value"),
        ({"x": spins(3), "energy": np.zeros(2)}, "different lengths {'x': 3, 'energy': 2}"),
        ({"x": spins(3), "energy": np.zeros((3, 2, 2))}, "'energy' has shape (3, 2, 2); a target needs (N,)"),
        ({"x": np.array([b"a", b"b"]), "energy": np.zeros(2)}, "dataset 'x' holds |S1 values, not numbers"),
    ],
    ids=["scalar-x", "x-without-spatial-axes", "scalar-target", "target-too-short", "target-3d", "text-x"],
)
def test_datasets_of_the_wrong_shape_are_refused_naming_the_file(tmp_path, datasets, message):
    path = tmp_path / "shape.h5"
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f[name] = value
    with pytest.raises(EDNNError) as excinfo:
        read_grids(path)
    text = one_line(excinfo)
    assert message in text and "shape.h5" in text, text
