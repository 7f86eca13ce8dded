"""Radial distribution function g(r) of planar periodic structures, and its peaks.

In 2D, g(r) = ⟨number of neighbours in [r, r + dr)⟩ / (ρ · 2πr dr) with ρ = N/A the areal
density, over all atoms and frames; pairs by the minimum image in a rectangular cell, so
r_max must stay below half the shorter cell edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError


def radial_distribution(
    frames: Sequence[Atoms], r_max: float = 4.0, bin_width: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres r (Å) and g(r) of the in-plane distances of `frames` (same cell and atom count)."""
    if not frames:
        raise EDNNError("no frames to compute g(r) from")
    lengths = np.array([frames[0].cell[0, 0], frames[0].cell[1, 1]])
    if r_max <= 0 or bin_width <= 0 or r_max >= lengths.min() / 2:
        raise EDNNError(
            f"need 0 < r_max < {lengths.min() / 2:.3f} Å (half the shorter cell edge) and a bin "
            f"width > 0, got r_max {r_max} and bin width {bin_width}"
        )
    edges = np.arange(0.0, r_max + bin_width / 2, bin_width)
    counts = np.zeros(len(edges) - 1)
    natoms = len(frames[0])
    upper = np.triu_indices(natoms, 1)
    for atoms in frames:
        xy = atoms.positions[:, :2]
        d = xy[:, None, :] - xy[None, :, :]
        d -= lengths * np.round(d / lengths)
        r = np.sqrt((d * d).sum(-1))[upper]
        counts += np.histogram(r, edges)[0]
    density = natoms / (lengths[0] * lengths[1])
    r = 0.5 * (edges[1:] + edges[:-1])
    shell = np.pi * (edges[1:] ** 2 - edges[:-1] ** 2)
    g = 2.0 * counts / (len(frames) * natoms * density * shell)
    return r, g


def peaks(r: np.ndarray, g: np.ndarray, count: int = 3, smooth: float = 0.02) -> list[tuple[float, float]]:
    """Positions (Å) and heights of the first `count` peaks of g(r) above 1.

    g is smoothed with a Gaussian of width `smooth` Å; each peak is the vertex of a parabola
    through the smoothed maximum and its two neighbouring bins.
    """
    dr = r[1] - r[0]
    half = max(1, int(round(4 * smooth / dr)))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * dr / smooth) ** 2)
    smoothed = np.convolve(g, kernel / kernel.sum(), mode="same")
    found = []
    for i in range(1, len(r) - 1):
        if smoothed[i] > 1 and smoothed[i] >= smoothed[i - 1] and smoothed[i] > smoothed[i + 1]:
            a, b, c = smoothed[i - 1], smoothed[i], smoothed[i + 1]
            shift = 0.5 * (a - c) / (a - 2 * b + c)
            found.append((float(r[i] + shift * dr), float(b - 0.25 * (a - c) * shift)))
            if len(found) == count:
                break
    if len(found) < count:
        raise EDNNError(f"g(r) has {len(found)} peaks above 1 below {r[-1] + dr / 2:.2f} Å; asked for {count}")
    return found
