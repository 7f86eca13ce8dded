"""The models in models/ do what the docs say they do."""

from pathlib import Path

import numpy as np
import pytest

import ednn
from ednn.ising import ising_energy, sample_configurations
from ednn.testing import assert_extensive

MODELS = Path(__file__).parents[1] / "models"


@pytest.mark.slow
@pytest.mark.parametrize("size", [64, 128])
def test_flagship_ising_model_trained_on_8x8_is_exact_on_large_lattices(size):
    model = ednn.load(MODELS / "ising-8x8-f1c1.safetensors")
    temperatures = np.linspace(1.5, 3.5, 6)
    spins, _ = sample_configurations(size, temperatures, 1, np.random.default_rng(size))
    error_per_spin = np.abs(model.predict(spins) - ising_energy(spins)) / size**2
    assert error_per_spin.max() < 6e-5, error_per_spin


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.safetensors")), ids=lambda p: p.stem)
def test_every_committed_model_loads_is_extensive_and_has_a_card(path):
    model = ednn.load(path)
    assert_extensive(model, k=2)
    assert model.info["test_metrics"]["n"] > 0 and model.info["training"]["wall_seconds"] > 0
    assert path.name in (MODELS / "README.md").read_text()
