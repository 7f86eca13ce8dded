"""2D Ising model data: energies, Monte Carlo sampling and HDF5 datasets (Mills et al. 2019, §3.1)."""

from ednn.ising.dataset import generate_ising_dataset, load_ising_dataset
from ednn.ising.energy import ONSAGER_TC, ising_energy, onsager_energy_per_spin
from ednn.ising.monte_carlo import sample_configurations

__all__ = [
    "ONSAGER_TC",
    "generate_ising_dataset",
    "ising_energy",
    "load_ising_dataset",
    "onsager_energy_per_spin",
    "sample_configurations",
]
