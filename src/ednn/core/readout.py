"""Readouts: a non-linear function of an EDNN's summed tile outputs, still extensive.

A plain EDNN's total is the sum of its tile outputs. A readout lets each site (a tile, or a
density cell of a `LocalDensityNet`) give a few terms whose sums over the whole structure
are combined into the total. The combination must be homogeneous of degree one in those
sums, so that n periodic copies of a structure still have n times its energy.

`ChargeEquilibration` ('qeq') is the one readout: every site has an energy e, an
electronegativity χ and a softness w > 0 (all in the model's scaled units); charge flows
between sites until the electronegativities equalise (charges q_i = −w_i (χ_i − μ), Σ q = 0),
which lowers the energy by ½ Σ w_i (χ_i − μ)², μ = Σ w χ / Σ w:

    E = Σ e − ½ (Σ w χ² − (Σ w χ)² / Σ w).

Unlike a sum of local terms, this couples every site to every other through μ, the way a
common Fermi level couples the sites of a metallic sheet.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ednn.core.errors import EDNNError


class ChargeEquilibration:
    """The 'qeq' readout: 3 raw values per site (e, χ, w before softplus), 4 summed terms
    (e, w, wχ, wχ²), 1 output (energy)."""

    name = "qeq"
    raw = 3
    sums = 4
    #: Index of the raw value (χ) that needs a random start: at equal χ the readout's gradient vanishes.
    symmetry_breaking = 1

    def site_terms(self, raw: torch.Tensor, dim: int = -1) -> torch.Tensor:
        """Summable terms (…, 4, …) along `dim` of raw site values (…, 3, …)."""
        e, chi, w = raw.unbind(dim)
        w = F.softplus(w)
        return torch.stack([e, w, w * chi, w * chi * chi], dim)

    def __call__(self, sums: torch.Tensor) -> torch.Tensor:
        """Totals (N, 1) of summed terms (N, 4)."""
        e, w, wchi, wchi2 = sums.unbind(-1)
        return (e - 0.5 * (wchi2 - wchi * wchi / w))[:, None]

    def shares(self, tile_sums: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
        """Each tile's share (N, *n, 1) of the total, from its terms (N, *n, 4) and the
        structure's sums (N, 4): e_t − ½ (Σ_t wχ² − μ² Σ_t w), which add up to the total."""
        mu = sums[:, 2] / sums[:, 1]
        mu = mu.view(-1, *[1] * (tile_sums.ndim - 2))
        e, w, _, wchi2 = tile_sums.unbind(-1)
        return (e - 0.5 * (wchi2 - mu * mu * w))[..., None]


READOUTS = {ChargeEquilibration.name: ChargeEquilibration}


def make_readout(name: str | None) -> ChargeEquilibration | None:
    """The readout called `name` (None: the plain sum)."""
    if name is None:
        return None
    if name not in READOUTS:
        raise EDNNError(f"unknown readout {name!r}; known: {', '.join(READOUTS)}")
    return READOUTS[name]()
