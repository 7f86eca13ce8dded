"""Seamless tiling of thermalised patches: near a seam, each atom's in-plane thermal
displacement is a blend of its own patch's and its neighbouring patches' displacements at the
same lattice site, so the displacement field runs on continuously across the seam.

Plain tiling puts atoms from two independent MD runs side by side at every seam; their bonds
then carry the difference of two uncorrelated displacements, a strain the training frames
never show (docs/porous.md). Here an atom within `width` Å of a seam takes
u = Σ_p w_p u_p / √(Σ_p w_p²) over its own patch and the patches across the nearby seams (one
per axis, and the diagonal one at a corner), with w = cos θ for the own side and sin θ for the
other along each axis (products at corners) and θ rising linearly from 0 at `width` Å inside
the patch to π/4 on the seam: the field is continuous on the seam, changes slowly across the
band, and — the patches being independent — keeps its variance. A pool patch met twice is one
field with the summed weight; a patch with no atom on the site (a pore) drops out of the sum;
an atom off its lattice site (one that wandered at a pore's rim) keeps its own position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from scipy.spatial import cKDTree

from ednn.core.errors import EDNNError
from ednn.systems.porous import CELLS, LATTICE_A, VACUUM
from ednn.systems.sheets import honeycomb

ON_SITE = 0.5
"""Å: an atom further than this from every lattice site (or sharing its nearest site) is not blended."""


@dataclass(frozen=True)
class PoolField:
    """The pool's displacement fields on the patch lattice.

    ideal (S, 2) Å: lattice sites; lengths (2,) Å: the patch; sites: per patch, each atom's
    site (A,), −1 where the atom is off its site; field (P, S, 2) Å: each patch's in-plane
    displacement at every site, NaN where no atom sits on it.
    """

    ideal: np.ndarray
    lengths: np.ndarray
    sites: list[np.ndarray]
    field: np.ndarray


def pool_field(pool: list[Atoms]) -> PoolField:
    """Map every pool patch's atoms onto the patch lattice (`honeycomb(CELLS)`)."""
    lattice, _ = honeycomb(CELLS, a=LATTICE_A, vacuum=VACUUM)
    ideal, lengths = lattice.positions[:, :2], np.asarray(lattice.cell.lengths()[:2])
    tree = cKDTree(ideal, boxsize=lengths)
    sites, field = [], np.full((len(pool), len(ideal), 2), np.nan)
    for p, patch in enumerate(pool):
        if not np.allclose(patch.cell.lengths()[:2], lengths):
            raise EDNNError(
                f"pool patch {p} is {patch.cell.lengths()[0]:.2f} × {patch.cell.lengths()[1]:.2f} Å, "
                f"not the patch lattice's {lengths[0]:.2f} × {lengths[1]:.2f} Å"
            )
        xy = np.mod(patch.positions[:, :2], lengths) % lengths  # twice: mod of a tiny negative rounds to L
        distance, site = tree.query(xy)
        on_site = (distance < ON_SITE) & (np.bincount(site, minlength=len(ideal))[site] == 1)
        shift = xy - ideal[site]
        field[p, site[on_site]] = (shift - lengths * np.round(shift / lengths))[on_site]
        sites.append(np.where(on_site, site, -1))
    return PoolField(ideal, lengths, sites, field)


def seam_angles(xy: np.ndarray, lengths: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Blend angle θ (N, 2) in [0, π/4] and the side (N, 2) of the nearer seam (−1 lower, +1
    upper) of sites at in-patch coordinates xy (N, 2) Å."""
    below = xy < lengths / 2
    distance = np.where(below, xy, lengths - xy)
    return np.pi / 4 * np.clip(1 - distance / width, 0, 1), np.where(below, -1, 1)


def blended_column(
    pool: list[Atoms], field: PoolField, choice: np.ndarray, width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions (N, 3) Å, relative to the column's origin, and numbers (N,) of one patch column.

    choice (3, ny): pool index of every slot in the previous, this and the next column.
    """
    if not 0 < width <= field.lengths.min() / 2:
        raise EDNNError(f"the seam blend width must lie in (0, {field.lengths.min() / 2:.2f}] Å, got {width}")
    ny = choice.shape[1]
    own = choice[1]
    patch = np.concatenate([np.full(len(pool[k]), k) for k in own])
    row = np.concatenate([np.full(len(pool[k]), j) for j, k in enumerate(own)])
    site = np.concatenate([field.sites[k] for k in own])
    positions = np.concatenate([pool[k].positions for k in own])
    numbers = np.concatenate([pool[k].numbers for k in own])
    blend = site >= 0
    s, p, r = site[blend], patch[blend], row[blend]
    theta, side = seam_angles(field.ideal[s], field.lengths, width)
    cos, sin = np.cos(theta), np.sin(theta)
    across_x, across_y = choice[1 + side[:, 0], r], choice[1, (r + side[:, 1]) % ny]
    corner = choice[1 + side[:, 0], (r + side[:, 1]) % ny]
    weights = np.column_stack(
        [cos[:, 0] * cos[:, 1], sin[:, 0] * cos[:, 1], cos[:, 0] * sin[:, 1], sin[:, 0] * sin[:, 1]]
    )
    partners = np.column_stack([p, across_x, across_y, corner])
    for q in range(1, 4):  # a patch met twice (the same pool patch across a seam) is one field: one weight
        for earlier in range(q):
            same = partners[:, q] == partners[:, earlier]
            weights[same, earlier] += weights[same, q]
            weights[same, q] = 0.0
            partners[same, q] = -1
    shifts = field.field[partners, s[:, None]]  # (n, 4, 2)
    weights = np.where((partners >= 0) & np.isfinite(shifts[..., 0]), weights, 0.0)
    shift = np.einsum("nq,nqc->nc", weights, np.nan_to_num(shifts)) / np.sqrt((weights**2).sum(1))[:, None]
    positions[blend, :2] = field.ideal[s] + shift
    positions[:, 1] += row * field.lengths[1]
    return positions, numbers
