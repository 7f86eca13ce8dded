"""Parity and error plots (paper Fig. 3a/b, 5, 8) as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ednn.core.errors import EDNNError


def pyplot():
    try:
        import matplotlib
    except ImportError:
        raise EDNNError("plots need matplotlib: pip install 'ednn[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def parity_plot(
    predicted: np.ndarray,
    true: np.ndarray,
    n_sites: int | np.ndarray,
    path: str | Path,
    title: str,
    quantity: str = "energy",
    unit: str = "J",
    site: str = "site",
) -> Path:
    """Two panels: predicted vs true `quantity` per site, and error per system vs true per site.

    n_sites: sites (pixels, spins, atoms) per system, one number or one per system; unit: of
    the totals, '' for none (e.g. a target given in any unit).
    """
    plt = pyplot()
    predicted, true = np.asarray(predicted, float), np.asarray(true, float)
    error = predicted - true
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    n_sites = np.asarray(n_sites, float)
    lo, hi = (true / n_sites).min(), (true / n_sites).max()
    ax1.plot([lo, hi], [lo, hi], color="0.6", lw=1, zorder=0)
    ax1.scatter(true / n_sites, predicted / n_sites, s=4, alpha=0.5)
    in_unit = f" ({unit})" if unit else ""
    ax1.set(
        xlabel=f"true {quantity} per {site}{in_unit}",
        ylabel=f"predicted {quantity} per {site}{in_unit}",
        title="(a) parity",
    )
    ax2.axhline(0, color="0.6", lw=1, zorder=0)
    ax2.scatter(true / n_sites, error, s=4, alpha=0.5)
    ax2.set(
        xlabel=f"true {quantity} per {site}{in_unit}",
        ylabel=f"predicted − true per system{in_unit}",
        title=f"(b) error; median |err| = {np.median(np.abs(error)):.3g}{' ' * bool(unit)}{unit}",
    )
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
