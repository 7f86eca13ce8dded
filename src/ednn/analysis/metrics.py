"""Error summaries of extensive predictions: per system and per site.

The paper's "MAE" is a median absolute error; we report it beside the mean.
"""

from __future__ import annotations

import numpy as np

from ednn.core.errors import EDNNError


def _absolute(error: np.ndarray, per: dict[str, tuple[float, np.ndarray | float]]) -> dict[str, float]:
    """'median_abs_<name>' and 'mean_abs_<name>' of factor·|error| / divisor for each name: (factor, divisor)."""
    out = {}
    for name, (factor, divisor) in per.items():
        scaled = factor * np.abs(error) / divisor
        out.update({f"median_abs_{name}": float(np.median(scaled)), f"mean_abs_{name}": float(np.mean(scaled))})
    return out


def _spread(error: np.ndarray, name: str) -> dict[str, float]:
    """'rmse_<name>', 'max_abs_<name>' and 'mean_error_<name>' (the bias) of `error`."""
    return {
        f"rmse_{name}": float(np.sqrt(np.mean(error**2))),
        f"max_abs_{name}": float(np.max(np.abs(error))),
        f"mean_error_{name}": float(np.mean(error)),
    }


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
    n_sites = np.asarray(n_sites, dtype=np.float64).reshape(-1, 1)
    return {
        "n": int(len(error)),
        **_absolute(error, {"per_system": (1, 1)}),
        **_spread(error, "per_system"),
        **_absolute(error, {"per_site": (1, n_sites)}),
    }


def atom_error_summary(
    predicted: np.ndarray, true: np.ndarray, areas: np.ndarray, n_atoms: np.ndarray
) -> dict[str, float]:
    """Errors of total energies (eV) of structures with in-plane `areas` (Å²) and `n_atoms`:
    median and mean absolute error in eV per structure, meV/Å² (the paper's unit) and
    meV/atom, plus RMSE, max and bias in eV."""
    error = np.asarray(predicted, np.float64) - np.asarray(true, np.float64)
    if error.ndim != 1:
        raise EDNNError(f"expected one energy per structure, got shape {error.shape}")
    per = {
        "eV": (1, 1),
        "meV_per_A2": (1000, np.asarray(areas, np.float64)),
        "meV_per_atom": (1000, np.asarray(n_atoms, np.float64)),
    }
    return {"n": int(len(error)), **_absolute(error, per), **_spread(error, "eV")}
