"""2D Ising model: energies, Monte Carlo sampling, HDF5 datasets and the phase transition with a
tabulated EDNN energy (Mills et al. 2019, §3.1).

The names below are imported on first use, so that the command line can check its arguments
(through `ednn.systems.ising.dataset`) before torch is imported.
"""

from importlib import import_module

_HOMES = {
    "ONSAGER_TC": "energy",
    "TileEnergy": "tile_energy",
    "generate_ising_dataset": "dataset",
    "ising_energy": "energy",
    "load_ising_dataset": "dataset",
    "onsager_energy_per_spin": "energy",
    "run_transition": "transition",
    "sample_configurations": "monte_carlo",
    "tile_table": "tile_energy",
}

__all__ = list(_HOMES)


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
