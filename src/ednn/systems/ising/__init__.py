"""2D Ising model: energies, Monte Carlo sampling, HDF5 datasets and the phase transition with a
tabulated EDNN energy (Mills et al. 2019, §3.1)."""

from ednn.systems.ising.dataset import generate_ising_dataset, load_ising_dataset
from ednn.systems.ising.energy import ONSAGER_TC, ising_energy, onsager_energy_per_spin
from ednn.systems.ising.monte_carlo import sample_configurations
from ednn.systems.ising.tile_energy import TileEnergy, tile_table
from ednn.systems.ising.transition import run_transition

__all__ = [
    "ONSAGER_TC",
    "TileEnergy",
    "generate_ising_dataset",
    "ising_energy",
    "load_ising_dataset",
    "onsager_energy_per_spin",
    "run_transition",
    "sample_configurations",
    "tile_table",
]
