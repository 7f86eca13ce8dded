"""A hand-made local energy model to compare EDNNs with: a linear fit on bond-length and
bond-angle polynomials (12 terms), for carbon sheets.

Bonds are pairs closer than `cutoff` Å; δ = d − d0 is a bond's stretch from the graphene
bond length d0 (Å); bond angles θ are those at an atom between two of its bonds, and
c = cos θ (−½ in pristine graphene). Features per structure, in this order:

    1, atoms, bonds, atoms with neither 2 nor 3 bonds,
    Σδ, Σδ², Σδ³, Σδ⁴ over bonds,
    Σc, Σ(c + ½)², Σ(c + ½)³, Σ(c + ½)(δ₁ + δ₂) over angles (δ₁, δ₂ of the angle's bonds).

Atoms with 2 and 3 bonds are not counted separately: when every atom has 2 or 3 bonds
their numbers follow from atoms and bonds (2-bonded = 3·atoms − 2·bonds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

BOND_LENGTH = 2.46 / np.sqrt(3.0)
"""Graphene C–C bond length d0 in Å (a = 2.46 Å)."""
BOND_CUTOFF = 1.8
FEATURE_NAMES = (
    "constant",
    "atoms",
    "bonds",
    "atoms without 2 or 3 bonds",
    "sum d",
    "sum d^2",
    "sum d^3",
    "sum d^4",
    "sum cos",
    "sum (cos+1/2)^2",
    "sum (cos+1/2)^3",
    "sum (cos+1/2)(d1+d2)",
)


def bond_angle_features(atoms: Atoms, d0: float = BOND_LENGTH, cutoff: float = BOND_CUTOFF) -> np.ndarray:
    """The 12 features (12,) of one structure (see the module docstring); δ in Å."""
    i, d, vectors = neighbor_list("idD", atoms, cutoff)  # each bond twice, once from each end
    order = np.argsort(i, kind="stable")
    i, d, vectors = i[order], d[order], vectors[order]
    delta = d - d0
    coordination = np.bincount(i, minlength=len(atoms))
    start = np.concatenate([[0], np.cumsum(coordination)[:-1]])
    slot = np.arange(len(i)) - start[i]  # rank of each bond among its atom's bonds
    table = np.full((len(atoms), max(int(coordination.max(initial=0)), 2)), -1)
    table[i, slot] = np.arange(len(i))
    cos, stretch = [], []
    for p in range(table.shape[1]):
        for q in range(p + 1, table.shape[1]):
            both = (table[:, p] >= 0) & (table[:, q] >= 0)
            a, b = table[both, p], table[both, q]
            cos.append(np.einsum("ij,ij->i", vectors[a], vectors[b]) / (d[a] * d[b]))
            stretch.append(delta[a] + delta[b])
    c, s = np.concatenate(cos), np.concatenate(stretch)
    bonds = len(i) / 2
    return np.array(
        [
            1.0,
            len(atoms),
            bonds,
            np.sum((coordination != 2) & (coordination != 3)),
            *(np.sum(delta**k) / 2 for k in (1, 2, 3, 4)),
            c.sum(),
            np.sum((c + 0.5) ** 2),
            np.sum((c + 0.5) ** 3),
            np.sum((c + 0.5) * s),
        ]
    )


def feature_matrix(structures: Sequence[Atoms], **options) -> np.ndarray:
    """`bond_angle_features` of many structures, (N, 12)."""
    return np.array([bond_angle_features(atoms, **options) for atoms in structures])


def fit_linear(features: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """Least-squares weights (F,) with features (N, F) @ weights ≈ energies (N,) (eV).

    Columns are scaled to unit largest magnitude for the solve, so the polynomial terms of
    very different sizes do not spoil its conditioning."""
    scale = np.abs(features).max(axis=0)
    scale[scale == 0] = 1.0
    weights, *_ = np.linalg.lstsq(features / scale, np.asarray(energies, float), rcond=None)
    return weights / scale
