"""The models in models/ do what the docs say they do."""

import re
from pathlib import Path

import numpy as np
import pytest

import ednn
from ednn.systems.ising import ising_energy, sample_configurations
from ednn.testing import assert_extensive

MODELS = Path(__file__).parents[2] / "models"
COMMITTED = sorted([*MODELS.glob("*.safetensors"), *MODELS.glob("ablations/*.safetensors")])


@pytest.mark.slow
@pytest.mark.parametrize("size", [64, 128])
def test_flagship_ising_model_trained_on_8x8_is_exact_on_large_lattices(size):
    model = ednn.load(MODELS / "ising-8x8-f1c1.safetensors")
    temperatures = np.linspace(1.5, 3.5, 6)
    spins, _ = sample_configurations(size, temperatures, 1, np.random.default_rng(size))
    error_per_spin = np.abs(model.predict(spins) - ising_energy(spins)) / size**2
    assert error_per_spin.max() < 6e-5, error_per_spin


@pytest.mark.parametrize("path", [p for p in COMMITTED if p.name.startswith("ising-")], ids=lambda p: p.stem)
def test_ising_models_refuse_spins_that_are_not_plus_or_minus_one(path):
    model = ednn.load(path)
    spins = np.random.default_rng(0).choice([-1, 1], size=(2, 8, 8))
    assert np.isfinite(model.predict(spins)).all() and np.isfinite(model.predict(spins.astype(float))).all()
    for wrong in ((spins + 1) // 2, spins > 0, 0.5 * spins):
        with pytest.raises(ednn.EDNNError, match="held only -1, 1"):
            model.predict(wrong)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_every_committed_model_loads_is_extensive_and_has_a_card(path):
    model = ednn.load(path)
    # float32 networks: with several threads a convolution over a larger grid sums in another
    # order (seen: 4e-6 relative for the charge-equilibrated models, whose total is a difference)
    assert_extensive(model, k=2, rtol=2e-5)
    assert model.info["test_metrics"]["n"] > 0 and model.info["training"]["wall_seconds"] > 0
    assert path.name in (path.parent / "README.md").read_text()  # its card: models/README.md or ablations/README.md


def test_every_model_path_in_the_docs_and_benchmarks_exists():
    """README, docs, cards and benchmarks name models where they are on the shelf (ednn.io.shelf moved them)."""
    root = MODELS.parent
    texts = [
        root / "README.md",
        *root.glob("docs/*.md"),
        *MODELS.rglob("README.md"),
        *root.glob("benchmarks/*.py"),
        *root.glob("benchmarks/*.sh"),
    ]
    named = {
        (text.name, path) for text in texts for path in re.findall(r"models/[\w/.-]+?\.safetensors", text.read_text())
    }
    assert named and not [(text, path) for text, path in named if not (root / path).is_file()]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, test_mean",
    [
        ("ablations/hexsheets-gfn1xtb-dense", 7.35),
        ("ablations/hexsheets-gfn1xtb-density", 2.71),
        ("ablations/hexsheets-gfn1xtb-qeq", 2.39),
        ("hexsheets-gfn1xtb", 2.08),
    ],
)
def test_atom_models_transfer_from_60_to_240_sites(name, test_mean):
    """The committed hexsheet EDNNs, trained on 60-site cells, on the committed 2×2 supercells
    (GFN1-xTB): under 1.5 × their 60-site test mean (meV/Å², docs/atoms.md)."""
    from ednn.io.structures import read_structures

    model = ednn.load(MODELS / f"{name}.safetensors")
    structures, energies = read_structures(MODELS.parent / "datasets" / "hexsheets-240.h5", require_energy=True)
    areas = np.array([s.cell[0, 0] * s.cell[1, 1] for s in structures])
    error = 1000 * np.abs(model.predict_atoms(structures) - energies) / areas
    assert error.mean() < 1.5 * test_mean, error.mean()
    # a 2×2 repeat of one of them is four times its energy
    single = model.predict_atoms(structures[0])[0]
    assert model.predict_atoms(structures[0].repeat((2, 2, 1)))[0] == pytest.approx(4 * single, rel=1e-9)


@pytest.mark.slow
def test_porous_density_model_beats_the_dense_one_on_the_committed_sample():
    """Every fourth frame of the committed porous sample (REBO, 1000 K; made with the full
    set's seed, so it mixes the models' training and held-out geometries — a guard against
    regressions, not the accuracy claim, which docs/porous.md makes on held-out geometries)."""
    from ednn.io.structures import StructureFile

    source = StructureFile(MODELS.parent / "datasets" / "porous-graphene-rebo-sample.h5")
    index = np.arange(0, len(source), 4)
    structures = source.structures(index)
    area = np.array([s.cell[0, 0] * s.cell[1, 1] for s in structures])
    median = {
        name: np.median(
            np.abs(ednn.load(MODELS / f"{name}.safetensors").predict_atoms(structures) - source.energy[index]) / area
        )
        * 1000
        for name in ("porous-graphene-rebo", "ablations/porous-graphene-rebo-dense")
    }
    assert median["porous-graphene-rebo"] < 1.3 < 2.0 < median["ablations/porous-graphene-rebo-dense"], median
