"""Error summaries of extensive predictions: per system and per site.

The paper's "MAE" is a median absolute error; we report it beside the mean.
"""

from __future__ import annotations

import numpy as np

from ednn.core.errors import EDNNError


def error_summary(predicted: np.ndarray, true: np.ndarray, n_sites: int | np.ndarray) -> dict[str, float]:
    """Median and mean absolute errors per system and per site, RMSE, max, bias.

    predicted, true: totals (N,) or (N, outputs) in the target's unit; n_sites: sites
    per system. Errors over several outputs are pooled.
    """
    predicted = np.asarray(predicted, dtype=np.float64).reshape(len(predicted), -1)
    true = np.asarray(true, dtype=np.float64).reshape(len(true), -1)
    if predicted.shape != true.shape:
        raise EDNNError(f"predictions of shape {predicted.shape} cannot be compared with targets of shape {true.shape}")
    error = predicted - true
    per_site = error / np.asarray(n_sites, dtype=np.float64).reshape(-1, 1)
    return {
        "n": int(len(error)),
        "median_abs_per_system": float(np.median(np.abs(error))),
        "mean_abs_per_system": float(np.mean(np.abs(error))),
        "rmse_per_system": float(np.sqrt(np.mean(error**2))),
        "max_abs_per_system": float(np.max(np.abs(error))),
        "mean_error_per_system": float(np.mean(error)),
        "median_abs_per_site": float(np.median(np.abs(per_site))),
        "mean_abs_per_site": float(np.mean(np.abs(per_site))),
    }


def atom_error_summary(predicted: np.ndarray, true: np.ndarray, areas: np.ndarray,
                       n_atoms: np.ndarray) -> dict[str, float]:
    """Errors of total energies (eV) of structures with in-plane `areas` (Å²) and `n_atoms`:
    median and mean absolute error in eV per structure, meV/Å² (the paper's unit) and
    meV/atom, plus RMSE, max and bias in eV."""
    error = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    if error.ndim != 1:
        raise EDNNError(f"expected one energy per structure, got shape {error.shape}")
    per_area = 1000 * np.abs(error) / np.asarray(areas, np.float64)
    per_atom = 1000 * np.abs(error) / np.asarray(n_atoms, np.float64)
    return {
        "n": int(len(error)),
        "median_abs_eV": float(np.median(np.abs(error))), "mean_abs_eV": float(np.mean(np.abs(error))),
        "median_abs_meV_per_A2": float(np.median(per_area)), "mean_abs_meV_per_A2": float(np.mean(per_area)),
        "median_abs_meV_per_atom": float(np.median(per_atom)), "mean_abs_meV_per_atom": float(np.mean(per_atom)),
        "rmse_eV": float(np.sqrt(np.mean(error**2))), "max_abs_eV": float(np.max(np.abs(error))),
        "mean_error_eV": float(np.mean(error)),
    }
