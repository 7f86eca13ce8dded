"""Error summaries of extensive predictions: per system and per site.

The paper's "MAE" is a median absolute error; we report it beside the mean.
"""

from __future__ import annotations

import numpy as np

from ednn.errors import EDNNError


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
