"""Monte Carlo of atoms with an EDNN energy, by local updates."""

import re
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import torch

import ednn
from ednn.atoms.render import channel_weights, render, single_atom_boxes
from ednn.core.errors import EDNNError
from ednn.simulate.montecarlo import AtomMetropolis, read_samples, run_atom_mc
from ednn.systems.sheets import honeycomb, random_sheet

MODEL = "models/ablations/hexsheets-gfn1xtb-dense.safetensors"


@pytest.fixture(scope="module")
def model():
    return ednn.load(MODEL)


def test_single_atom_boxes_equal_blocks_of_the_full_render():
    rng = np.random.default_rng(1)
    lengths, shape = (12.5, 12.99), (64, 64)
    pixel = np.array(lengths) / shape
    xy = rng.uniform(0, 12.5, (5, 2))
    numbers = np.array([5, 6, 7, 6, 5])
    weights, channel, nchannels = channel_weights(torch.as_tensor(numbers), (5, 6, 7), torch.float64)
    corners = torch.as_tensor(np.floor(xy / pixel).astype(int) - 7)
    boxes = single_atom_boxes(torch.as_tensor(xy), weights, channel, nchannels, pixel, corners, (15, 15))
    for k in range(5):
        block = render(
            xy[k : k + 1],
            numbers[k : k + 1],
            lengths,
            shape,
            elements=(5, 6, 7),
            origin=tuple(corners[k].tolist()),
            size=(15, 15),
        )
        np.testing.assert_allclose(boxes[k].movedim(0, -1).numpy(), block.numpy(), atol=1e-15)


def test_ten_thousand_accepted_moves_keep_the_energy_exact(model):
    atoms = random_sheet((5, 3), 4, 2)[0]
    mc = AtomMetropolis(model, atoms, chains=16, temperature_K=1000.0, step=0.1, rng=np.random.default_rng(0))
    accepted = 0
    while accepted < 10_000:
        accepted += int(mc.step().sum())
    reference = model.predict_atoms(mc.structures())
    np.testing.assert_allclose(mc.energies, reference, rtol=1e-6)
    np.testing.assert_allclose(mc.energies, mc.energy.recompute().numpy(), rtol=1e-12)
    moved = np.abs(mc.positions - atoms.positions[:, :2] % mc.lengths)
    assert np.minimum(moved, mc.lengths - moved).max() > 0.1


def test_resumed_run_equals_an_uninterrupted_one(model, tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=1000.0, chains=2, equilibration=200, sample_every=50, seed=3, progress=False)
    run_atom_mc(model, atoms, tmp_path / "once.h5", steps=600, **settings)
    run_atom_mc(model, atoms, tmp_path / "twice.h5", steps=300, **settings)
    summary = run_atom_mc(model, atoms, tmp_path / "twice.h5", steps=600, **settings)
    assert summary["steps_run"] == 300 and 0.2 < summary["acceptance"] < 0.6
    with h5py.File(tmp_path / "once.h5") as once, h5py.File(tmp_path / "twice.h5") as twice:
        np.testing.assert_array_equal(once["step"][:], twice["step"][:])
        np.testing.assert_allclose(once["positions"][:], twice["positions"][:], rtol=0, atol=1e-12)
    structures, energies = read_samples(tmp_path / "once.h5")
    assert len(structures) == 2 * 8 and energies.shape == (16,)
    np.testing.assert_allclose(model.predict_atoms(structures), energies, rtol=1e-6)


@pytest.mark.slow
def test_killed_run_resumes_without_losing_samples(tmp_path):
    out = tmp_path / "mc.h5"
    command = [
        sys.executable,
        "-m",
        "ednn",
        "mc",
        MODEL,
        "-o",
        str(out),
        "--steps",
        "20000",
        "--chains",
        "2",
        "--sample-every",
        "20",
        "--equilibration",
        "100",
    ]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.5)
        try:
            with h5py.File(out, "r", locking=False) as samples:
                if len(samples["step"]) >= 5:
                    break
        except (OSError, KeyError):
            continue
    process.kill()
    process.wait()
    with h5py.File(out, "r", locking=False) as samples:
        kept = samples["step"][:]
    command[command.index("20000")] = str(int(kept[-1]) + 100)
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    with h5py.File(out, "r") as samples:
        steps = samples["step"][:]
    np.testing.assert_array_equal(steps[: len(kept)], kept)
    assert np.all(np.diff(steps) == 20) and steps[-1] == kept[-1] + 100


def test_bad_input(model, tmp_path):
    atoms = honeycomb((5, 3))[0]
    with pytest.raises(EDNNError, match="temperature"):
        AtomMetropolis(model, atoms, 1, 0.0, 0.1, np.random.default_rng())
    with pytest.raises(EDNNError, match="step"):
        AtomMetropolis(model, atoms, 1, 300.0, 0.0, np.random.default_rng())
    with pytest.raises(EDNNError, match="trained on grids"):
        AtomMetropolis(ednn.load("models/ising-8x8-f1c1.safetensors"), atoms, 1, 300.0, 0.1, np.random.default_rng())
    with pytest.raises(EDNNError, match="nearest valid cell"):
        AtomMetropolis(model, honeycomb((4, 3))[0], 1, 300.0, 0.1, np.random.default_rng())
    run_atom_mc(model, atoms, tmp_path / "a.h5", temperature_K=300.0, steps=10, chains=1, progress=False)
    with pytest.raises(
        EDNNError,
        match=r"a.h5 holds an MC run with other settings \(temperature: 300 K in file, "
        r"500 K requested; chains: 1 in file, 2 requested\)",
    ):
        run_atom_mc(model, atoms, tmp_path / "a.h5", temperature_K=500.0, steps=10, chains=2, progress=False)
    shifted = atoms.copy()
    shifted.positions[7, 0] += 0.05
    with pytest.raises(EDNNError, match="starting structure: C60 in file, a different C60 requested"):
        run_atom_mc(model, shifted, tmp_path / "a.h5", temperature_K=300.0, steps=10, chains=1, progress=False)
    other = ednn.load("models/ablations/hexsheets-gfn1xtb-density.safetensors")
    with pytest.raises(
        EDNNError,
        match=re.escape(
            f"a.h5 holds an MC run with other settings (model: "
            f"{model.identity()} in file, {other.identity()} "
            "requested)"
        ),
    ):
        run_atom_mc(other, atoms, tmp_path / "a.h5", temperature_K=300.0, steps=10, chains=1, progress=False)
    with h5py.File(tmp_path / "a.h5") as samples:
        assert samples.attrs["model"] == model.identity() and len(samples["step"]) == 2


def test_acceptance_is_none_until_a_step_after_equilibration(model, tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=1000.0, chains=2, equilibration=100, sample_every=30, seed=0, progress=False)
    for steps in (40, 100):  # equilibration only: no acceptance to tell, not NaN
        assert run_atom_mc(model, atoms, tmp_path / "short.h5", steps=steps, **settings)["acceptance"] is None
    acceptance = run_atom_mc(model, atoms, tmp_path / "short.h5", steps=101, **settings)["acceptance"]
    assert acceptance is not None and 0 <= acceptance <= 1
