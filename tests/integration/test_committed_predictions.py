"""Every committed model gives the numbers recorded before the re-layout of issue 21: to 1e-6
relative, forces to 2e-5 of the largest (tests/data/committed_predictions.json, made by
tests/data/record_committed_predictions.py and keyed by the models' file names then;
ednn.io.shelf maps them to where they are now)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import ednn
from ednn.atoms.bins import AtomBins
from ednn.atoms.blocks import stream_energy
from ednn.io.shelf import MOVED
from ednn.io.structures import StructureFile
from ednn.systems.ising.tile_energy import TileEnergy

ROOT = Path(__file__).parents[2]
RECORDED = json.loads((ROOT / "tests/data/committed_predictions.json").read_text())["models"]
RTOL = 1e-6
#: Forces are float32 gradients: another CPU's vector kernels (AVX2 against AVX-512) move them by
#: up to ~6e-6 of the largest force (measured on an AMD EPYC against the recording machine).
FORCES_RTOL = 2e-5


def shelf_path(old_name: str) -> Path:
    """Where the model recorded as models/`old_name` lives now."""
    return ROOT / "models" / MOVED.get(old_name, old_name)


@pytest.fixture(scope="module")
def inputs():
    """The record script's inputs: spins from seed 2026, sheets 0-3 of hexsheets-60 and sheet 0 of
    hexsheets-240, porous structures 0-1."""
    datasets = ROOT / "datasets"
    sheets = StructureFile(datasets / "hexsheets-60.h5").structures([0, 1, 2, 3])
    big = StructureFile(datasets / "hexsheets-240.h5").structures([0])
    return {
        "spins": np.random.default_rng(2026).choice([-1, 1], size=(3, 16, 16)),
        "sheets": sheets + big,
        "porous": StructureFile(datasets / "porous-graphene-rebo-sample.h5").structures([0, 1]),
    }


@pytest.fixture
def one_thread():
    """The numbers were recorded with one torch thread (a sum over threads changes the last bits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def predictions(model: ednn.EDNN, old_name: str, inputs: dict) -> dict[str, np.ndarray]:
    """The quantities the record script took for `model`, recorded under `old_name`."""
    if model.imaging is None:
        spins = inputs["spins"]
        contributions = model.contributions(spins)
        out = {
            "predict": model.predict(spins),
            "contributions_sum": contributions.reshape(3, -1).sum(1),
            "contributions_00": contributions[:, 0, 0],
        }
        if model.tile**2 <= 16:
            out["tile_table"] = TileEnergy.from_model(model).energy(spins)
        return out
    structures = inputs["porous"] if "porous" in old_name else inputs["sheets"]
    atoms = structures[0].copy()
    atoms.calc = model.calculator()
    return {
        "predict_atoms": model.predict_atoms(structures),
        "energy": atoms.get_potential_energy(),
        "forces": atoms.get_forces()[:6],
        "stream_2x2": stream_energy(model, AtomBins.from_atoms(structures[0].repeat((2, 2, 1))), block_pixels=48),
    }


#: Models first committed after the re-layout, which had no numbers to keep.
ADDED_SINCE = {"ising3d-f1c1.safetensors"}


def test_every_committed_model_was_recorded():
    committed = {str(p.relative_to(ROOT / "models")) for p in (ROOT / "models").rglob("*.safetensors")}
    assert committed == {str(shelf_path(name).relative_to(ROOT / "models")) for name in RECORDED} | ADDED_SINCE


@pytest.mark.parametrize("old_name", sorted(RECORDED), ids=lambda old: MOVED.get(old, old).removesuffix(".safetensors"))
def test_committed_model_gives_the_recorded_numbers(old_name, inputs, one_thread):
    path = shelf_path(old_name)
    recorded = RECORDED[old_name]
    now = predictions(ednn.load(path), old_name, inputs)
    assert sorted(now) == sorted(recorded), f"{path.name}: quantities {sorted(now)}, recorded {sorted(recorded)}"
    wrong = []
    for quantity, before in recorded.items():
        before, after = np.asarray(before, dtype=float), np.asarray(now[quantity], dtype=float)
        if after.shape != before.shape:
            wrong.append(f"{quantity}: shape {after.shape}, recorded {before.shape}")
            continue
        scale = np.abs(before).max() if quantity == "forces" else np.abs(before)
        tolerance = FORCES_RTOL * scale + 1e-9 if quantity == "forces" else RTOL * scale
        if not np.all(np.abs(after - before) <= tolerance):
            excess = np.abs(after - before) - tolerance
            worst = tuple(int(i) for i in np.unravel_index(np.argmax(excess), before.shape))
            relative = (np.abs(after - before) / np.maximum(scale, 1e-300)).max()
            wrong.append(
                f"{quantity} differs by up to {relative:.2e} relative (at {list(worst)}: "
                f"{after[worst]:.12g}, recorded {before[worst]:.12g})"
            )
    assert not wrong, f"{path.relative_to(ROOT)} (recorded as models/{old_name}): " + "; ".join(wrong)
