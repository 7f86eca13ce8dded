"""Heat maps of a focus/context sweep: one value per (f, c) pair."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ednn.analysis.plots import pyplot


def sweep_heat_map(
    values: np.ndarray,
    focus: Sequence[int],
    context: Sequence[int],
    path: str | Path,
    label: str,
    log: bool = False,
    marks: Sequence[tuple[int, int]] = (),
) -> Path:
    """A PNG heat map of values (len(focus), len(context)), focus down and context across, each
    cell printed; `log`: a logarithmic colour scale; `marks`: (f, c) pairs to outline, the first
    solid, the others dashed."""
    plt = pyplot()
    from matplotlib.colors import LogNorm

    values = np.asarray(values, float)
    fig, ax = plt.subplots(figsize=(1.2 * len(context) + 2.4, 0.9 * len(focus) + 1.6))
    norm = LogNorm(vmin=values.min(), vmax=values.max()) if log and values.min() > 0 else None
    image = ax.imshow(values, cmap="viridis", norm=norm, aspect="auto")
    fig.colorbar(image, ax=ax, label=label)
    for (i, j), value in np.ndenumerate(values):
        colour = "k" if image.norm(value) > 0.6 else "w"  # dark text on the bright end of viridis
        ax.text(j, i, f"{value:.3g}", ha="center", va="center", color=colour, fontsize=9)
    for k, (f, c) in enumerate(marks):
        i, j = list(focus).index(f), list(context).index(c)
        ax.add_patch(
            plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", lw=2.5, ls="-" if k == 0 else "--")
        )
    ax.set(
        xticks=range(len(context)),
        xticklabels=context,
        yticks=range(len(focus)),
        yticklabels=focus,
        xlabel="context c (sites)",
        ylabel="focus f (sites)",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)
    return Path(path)
