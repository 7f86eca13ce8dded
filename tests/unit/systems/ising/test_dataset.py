import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ednn.systems.ising.dataset as dataset_module
from ednn.core.errors import EDNNError
from ednn.systems.ising import generate_ising_dataset, ising_energy, load_ising_dataset
from ednn.systems.ising.dataset import FORMAT, flat_energy_selection

PARAMS = dict(size=4, n_configs=53, t_min=1.5, t_max=3.5, seed=11, chunk_size=10, progress=False)


class Interrupted(Exception):
    pass


def assert_same_file_contents(a: Path, b: Path) -> None:
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert dict(fa.attrs) == dict(fb.attrs)
        for name in ("x", "energy", "T"):
            assert fa[name].dtype == fb[name].dtype
            np.testing.assert_array_equal(fa[name][()], fb[name][()])


def interrupt_after(monkeypatch, chunks: int, *, before_attr_update: bool) -> None:
    """Make _append raise on its call number `chunks` + 1, or just after writing it."""
    original, calls = dataset_module._append, []

    def append(f, *arrays):
        calls.append(None)
        if len(calls) > chunks:
            if before_attr_update:
                original(f, *arrays)
            raise Interrupted
        original(f, *arrays)

    monkeypatch.setattr(dataset_module, "_append", append)


def test_round_trip(tmp_path):
    path = generate_ising_dataset(tmp_path / "sub" / "d.h5", **PARAMS)
    data = load_ising_dataset(path)
    assert data["x"].dtype == np.int8 and data["x"].shape == (53, 4, 4)
    assert np.all(np.abs(data["x"]) == 1)
    assert data["energy"].dtype == np.float64 and data["T"].dtype == np.float64
    np.testing.assert_array_equal(data["energy"], ising_energy(data["x"]))
    assert np.all((data["T"] >= 1.5) & (data["T"] <= 3.5))
    assert len(np.unique(data["T"])) == 53
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == FORMAT
        assert f.attrs["complete"] and f.attrs["chunks_done"] == 6
        assert f.attrs["n_configs"] == 53 and f.attrs["size"] == 4 and f.attrs["seed"] == 11
        assert f["x"].compression == "gzip"


def test_complete_file_is_returned_untouched(tmp_path, monkeypatch):
    path = generate_ising_dataset(tmp_path / "d.h5", **PARAMS)
    before = path.read_bytes()
    interrupt_after(monkeypatch, 0, before_attr_update=False)
    assert generate_ising_dataset(path, **PARAMS) == path
    assert path.read_bytes() == before


@pytest.mark.parametrize("even_energies", [False, True])
@pytest.mark.parametrize("before_attr_update", [False, True])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, monkeypatch, even_energies, before_attr_update):
    params = {**PARAMS, "even_energies": even_energies}
    reference = generate_ising_dataset(tmp_path / "reference.h5", **params)
    path = tmp_path / "resumed.h5"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2, before_attr_update=before_attr_update)
        with pytest.raises(Interrupted):
            generate_ising_dataset(path, **params)
    with pytest.raises(EDNNError, match="incomplete.*same generation command"):
        load_ising_dataset(path)
    generate_ising_dataset(path, **params)
    assert_same_file_contents(reference, path)


def test_resume_after_sigkill_equals_uninterrupted(tmp_path):
    """A real kill -9 after a chunk's data is flushed but before chunks_done is updated."""
    path = tmp_path / "killed.h5"
    script = textwrap.dedent(
        f"""
        import os, signal
        import ednn.systems.ising.dataset as d
        original, calls = d._append, []
        def append(f, *arrays):
            original(f, *arrays)
            calls.append(None)
            if len(calls) == 3:
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
        d._append = append
        d.generate_ising_dataset({str(path)!r}, **{PARAMS!r})
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    with h5py.File(path, "r") as f:
        assert f.attrs["chunks_done"] == 2 and f["x"].shape[0] == 30
    generate_ising_dataset(path, **PARAMS)
    assert_same_file_contents(generate_ising_dataset(tmp_path / "reference.h5", **PARAMS), path)


@pytest.mark.parametrize(
    ("key", "value"), [("size", 6), ("seed", 12), ("chunk_size", 9), ("even_energies", True), ("t_max", 3.6)]
)
def test_other_parameters_on_existing_file_raise(tmp_path, monkeypatch, key, value):
    path = tmp_path / "d.h5"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1, before_attr_update=False)
        with pytest.raises(Interrupted):
            generate_ising_dataset(path, **PARAMS)
    with pytest.raises(EDNNError, match=f"other settings.*{key}") as error:
        generate_ising_dataset(path, **{**PARAMS, key: value})
    assert "\n" not in str(error.value)


def test_refuses_to_overwrite_foreign_files(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5\n")
    with pytest.raises(EDNNError, match="not a writable HDF5 file"):
        generate_ising_dataset(text, **PARAMS)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(EDNNError, match="not an ednn-ising-v1 dataset"):
        generate_ising_dataset(other, **PARAMS)
    assert text.read_text() == "not hdf5\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [({"size": 5}, "even"), ({"t_min": 0.0}, "t_min"), ({"t_min": 4.0}, "t_min"), ({"n_configs": 0}, "n_configs")],
)
def test_rejects_bad_parameters_before_creating_a_file(tmp_path, change, message):
    with pytest.raises(EDNNError, match=message):
        generate_ising_dataset(tmp_path / "d.h5", **{**PARAMS, **change})
    assert not (tmp_path / "d.h5").exists()


def test_load_errors_are_one_line(tmp_path):
    missing_x = tmp_path / "missing_x.h5"
    with h5py.File(missing_x, "w") as f:
        f["energy"] = np.zeros(3)
        f["T"] = np.ones(3)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)
    lengths = tmp_path / "lengths.h5"
    with h5py.File(lengths, "w") as f:
        f["x"] = np.ones((3, 4, 4), dtype=np.int8)
        f["energy"] = np.zeros(3)
        f["T"] = np.ones(2)
    cases = [
        (tmp_path / "absent.h5", "does not exist"),
        (corrupt, "not a readable HDF5 file"),
        (missing_x, "has no dataset 'x'"),
        (lengths, "different lengths"),
    ]
    for path, message in cases:
        with pytest.raises(EDNNError, match=message) as error:
            load_ising_dataset(path)
        assert "\n" not in str(error.value)


def test_even_energies_flattens_the_histogram(tmp_path):
    params = {**PARAMS, "size": 6, "n_configs": 400, "chunk_size": 400, "t_min": 1.0, "t_max": 5.0}
    even = load_ising_dataset(generate_ising_dataset(tmp_path / "even.h5", **params, even_energies=True))
    plain = load_ising_dataset(generate_ising_dataset(tmp_path / "plain.h5", **params))
    assert len(np.unique(even["x"].reshape(400, -1), axis=0)) > 0.9 * 400
    counts = np.unique(even["energy"], return_counts=True)[1]
    assert counts.max() < np.unique(plain["energy"], return_counts=True)[1].max()
    assert np.median(counts) >= 0.8 * counts.max()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 80), min_size=1, max_size=12), st.integers(1, 4), st.data())
def test_flat_energy_selection_is_distinct_and_water_filled(members, spacing, data):
    """With at most n // 10 distinct energies, each energy is its own bin."""
    members = np.array(members)
    assume(members.sum() >= 10 * members.size)
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    energy = rng.permutation(np.repeat(spacing * np.arange(members.size, dtype=np.float64), members))
    n = data.draw(st.integers(10 * members.size, members.sum()))
    chosen = flat_energy_selection(energy, n, rng)
    assert chosen.size == n and np.unique(chosen).size == n
    picked = np.bincount((energy[chosen] / spacing).astype(int), minlength=members.size)
    short = picked < members
    # Bins not used up got equal quotas (up to 1), at least as large as any used-up bin (up to 1).
    if short.any():
        assert picked[short].max() - picked[short].min() <= 1
        assert picked[short].min() + 1 >= picked[~short].max(initial=0)


def test_flat_energy_selection_with_many_distinct_energies_uses_equal_width_bins():
    energy = np.concatenate([np.arange(1000.0), np.full(3000, 500.0)])
    chosen = flat_energy_selection(energy, 200, np.random.default_rng(0))
    assert np.unique(chosen).size == 200
    np.testing.assert_array_equal(np.histogram(energy[chosen], bins=20, range=(0, 999))[0], 10)


@pytest.mark.parametrize("dataset", ["x", "energy"])
def test_a_flipped_bit_in_a_generated_file_is_named_as_damage(tmp_path, dataset):
    from ednn.io.grids import read_grids

    path = generate_ising_dataset(tmp_path / "d.h5", **PARAMS)
    with h5py.File(path, "r") as handle:
        offset = handle[dataset].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset + 3] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(EDNNError, match=r"d.h5 is damaged: a chunk of its data fails its checksum"):
        read_grids(path)
