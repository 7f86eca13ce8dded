"""The physical total of an EDNN, in one place: readout, scale and extensive offsets.

A tile network gives scaled terms per tile (the outputs, or with a readout its summable
terms). Summed over a structure they become its physical total

    total = scale · combine(Σ_tiles terms) + offset_per_site · n_sites
            + Σ_c offset_per_intensity_c · Σ_pixels x_c,

`combine` being the identity without a readout. Only a scale factor and extensive offsets
(per site, and per unit of each channel's intensity: for atom images with one channel per
element, a reference energy per atom of each element) are applied, so the total stays
extensive on inputs of any size. Every path that makes a physical number (predict, tile
contributions, local updates, forces, streaming, tabulated tiles, training) calls `Target`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ednn.core.errors import EDNNError
from ednn.core.readout import make_readout


class Target(nn.Module):
    """Scale, offsets and readout of `outputs` targets over `channels` input channels.

    Buffers (float64): scale (outputs,), offset_per_site (outputs,), offset_per_intensity
    (outputs, channels). `readout`: None or the name of an `ednn.core.readout` ('qeq').
    """

    def __init__(
        self,
        outputs: int = 1,
        channels: int = 1,
        *,
        scale: Sequence[float] | float = 1.0,
        offset_per_site: Sequence[float] | float = 0.0,
        readout: str | None = None,
    ):
        super().__init__()
        self.outputs, self.channels = int(outputs), int(channels)
        self.readout = make_readout(readout)
        if self.readout is not None and self.outputs != 1:
            raise EDNNError(f"the {readout!r} readout gives one output (energy), not {self.outputs}")
        ones = torch.ones(self.outputs, dtype=torch.float64)
        self.register_buffer("scale", ones * torch.as_tensor(scale, dtype=torch.float64))
        self.register_buffer("offset_per_site", 0 * ones + torch.as_tensor(offset_per_site, dtype=torch.float64))
        self.register_buffer("offset_per_intensity", torch.zeros(self.outputs, self.channels, dtype=torch.float64))

    def _apply(self, fn, recurse=True):
        """Moves (`model.to(device)`) apply; casts (`model.float()`, `model.to(torch.float32)`) do
        not: the physical total stays float64 whatever the network's dtype."""
        for name, buffer in self._buffers.items():
            moved = fn(buffer)
            self._buffers[name] = moved if moved.dtype == torch.float64 else buffer.to(moved.device)
        return self

    @property
    def sums(self) -> int:
        """Terms each tile gives, summed over a structure: the outputs, or the readout's sums."""
        return self.outputs if self.readout is None else self.readout.sums

    def site_terms(self, raw: torch.Tensor, dim: int) -> torch.Tensor:
        """The readout's summable terms of raw site values along `dim` (no readout: raw)."""
        return raw if self.readout is None else self.readout.site_terms(raw, dim)

    def combine(self, sums: torch.Tensor) -> torch.Tensor:
        """Scaled totals (N, outputs) of terms summed over each structure (N, sums)."""
        return sums if self.readout is None else self.readout(sums)

    def offsets(self, n_sites: int, intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Extensive offsets (N or 1, outputs), float64, of grids of `n_sites` pixels whose
        channels sum to `intensity` (N, C) (None: no intensity offset)."""
        offset = (self.offset_per_site * n_sites)[None]
        if intensity is not None:
            offset = offset + self._here(intensity) @ self.offset_per_intensity.T
        return offset

    def to_physical(self, scaled: torch.Tensor, n_sites: int, intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Physical totals (N, outputs), float64, of scaled totals (N, outputs)."""
        return self._here(scaled) * self.scale + self.offsets(n_sites, intensity)

    def to_scaled(self, totals: torch.Tensor, n_sites: int, intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Scaled targets (N, outputs), float32, of physical totals (N, outputs): the inverse of `to_physical`."""
        return ((self._here(totals) - self.offsets(n_sites, intensity)) / self.scale).float()

    def total(self, sums: torch.Tensor, n_sites: int, intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Physical totals (N, outputs), float64, of tile terms summed over each structure (N, sums),
        over grids of `n_sites` pixels with channel sums `intensity` (N, C)."""
        return self.to_physical(self.combine(self._here(sums)), n_sites, intensity)

    def change(
        self,
        sums: torch.Tensor,
        sums_change: torch.Tensor,
        intensity: torch.Tensor,
        intensity_change: torch.Tensor,
        n_sites: int,
        before: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Change (N,) of the first output's physical total when the summed terms (N, sums) change by
        `sums_change` and the channel sums (N, C) by `intensity_change`; exact differences without a
        readout (no cancellation of two large totals); with one, the new total less `before` (N,), the
        totals kept so far (default: computed from `sums`)."""
        if self.readout is None:
            return (
                self.scale[0] * self._here(sums_change[:, 0])
                + self._here(intensity_change) @ self.offset_per_intensity[0]
            )
        after = self.total(sums + sums_change, n_sites, intensity + intensity_change)[:, 0]
        return after - (self.total(sums, n_sites, intensity)[:, 0] if before is None else self._here(before))

    def tile_contributions(
        self, terms: torch.Tensor, region_sites: int, region_intensity: torch.Tensor
    ) -> torch.Tensor:
        """Physical contribution (N, *n, outputs), float64, of each tile of N structures: from its
        terms (N, *n, sums), the pixels of one focus region and each region's channel sums
        (N, *n, C). They add up to `total`; with a readout each tile gets its share of the
        combined total (`ChargeEquilibration.shares`)."""
        terms = self._here(terms)
        if self.readout is not None:
            terms = self.readout.shares(terms, terms.flatten(1, -2).sum(1))
        return (
            terms * self.scale
            + self.offset_per_site * region_sites
            + self._here(region_intensity) @ self.offset_per_intensity.T
        )

    def _here(self, values: torch.Tensor) -> torch.Tensor:
        return values.to(device=self.scale.device, dtype=torch.float64)
