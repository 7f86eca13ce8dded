"""How a tile network is evaluated over a grid: a network says it by its `evaluation` attribute.

`TileCopies` (the default, for any `torch.nn.Module`) cuts the padded grid into tiles and runs
the network on them in cache-sized calls. `DensityOverGrid` is for networks that are an energy
density (`LocalDensityNet`): the density runs once over the whole grid — each cell already sees
exactly its context — and is summed over each focus region, with no (t/f)^ndim overlap.

Both give scaled tile terms (N, *n, sums): the network's outputs, or with a readout the
readout's summable terms (`Target.site_terms`) per tile.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from ednn.core.target import Target
from ednn.core.tiling import Padding, pad, tiles_from_padded

#: Tile pixels per call of the tile network (at least MIN_TILES_PER_CALL tiles): cache-sized
#: calls ran 2× faster than one large call on 2 CPU cores (docs/speed.md).
NET_CALL_PIXELS = 2**15
MIN_TILES_PER_CALL = 16


class Evaluation(Protocol):
    """What `EDNN` asks of an evaluation strategy."""

    def window(self, focus: int, context: int) -> int:
        """Pixels per edge that one tile costs in working memory."""

    def padded(
        self, net: nn.Module, target: Target, padded: torch.Tensor, focus: int, context: int, cache_sized: bool = True
    ) -> torch.Tensor:
        """Tile terms (N, *n, sums) of a grid already padded by the context (N, C, *P)."""

    def grid(
        self,
        net: nn.Module,
        target: Target,
        x: torch.Tensor,
        focus: int,
        context: int,
        padding: Padding,
        cache_sized: bool = True,
    ) -> torch.Tensor:
        """Tile terms (N, *n, sums) of an unpadded grid (N, C, *spatial)."""

    def tiles(self, net: nn.Module, target: Target, tiles: torch.Tensor) -> torch.Tensor:
        """Terms (B, sums) of explicit tiles (B, C, *t)."""


class TileCopies:
    """Tiles copied out of the padded grid, the network called on cache-sized batches of them."""

    def window(self, focus: int, context: int) -> int:
        return focus + 2 * context

    def tiles(self, net: nn.Module, target: Target, tiles: torch.Tensor) -> torch.Tensor:
        return net(tiles) if target.readout is None else target.site_terms(net(tiles), -1)

    def padded(
        self, net: nn.Module, target: Target, padded: torch.Tensor, focus: int, context: int, cache_sized: bool = True
    ) -> torch.Tensor:
        tiles = tiles_from_padded(padded, focus, context)
        ndim = padded.ndim - 2
        counts = tiles.shape[1 : 1 + ndim]
        flat = tiles.reshape(-1, *tiles.shape[1 + ndim :])
        chunk = max(MIN_TILES_PER_CALL, NET_CALL_PIXELS // flat[0].numel()) if cache_sized else len(flat)
        out = (
            torch.cat([self.tiles(net, target, part) for part in flat.split(chunk)])
            if len(flat) > chunk
            else self.tiles(net, target, flat)
        )
        return out.view(padded.shape[0], *counts, target.sums)

    def grid(
        self,
        net: nn.Module,
        target: Target,
        x: torch.Tensor,
        focus: int,
        context: int,
        padding: Padding,
        cache_sized: bool = True,
    ) -> torch.Tensor:
        return self.padded(net, target, pad(x, context, padding), focus, context, cache_sized)


class DensityOverGrid:
    """An energy density (`net.density`, cells of `net.stride` pixels per edge) evaluated once over the
    grid and summed over each focus region; on a periodic grid without a halo (`net.periodic_density`)."""

    def window(self, focus: int, context: int) -> int:
        return focus  # no tiles are copied

    def tiles(self, net: nn.Module, target: Target, tiles: torch.Tensor) -> torch.Tensor:
        return target.site_terms(net.density(tiles), 1).flatten(2).sum(-1)

    def padded(
        self, net: nn.Module, target: Target, padded: torch.Tensor, focus: int, context: int, cache_sized: bool = True
    ) -> torch.Tensor:
        return self._focus_sums(net, target, net.density(padded), focus)

    def grid(
        self,
        net: nn.Module,
        target: Target,
        x: torch.Tensor,
        focus: int,
        context: int,
        padding: Padding,
        cache_sized: bool = True,
    ) -> torch.Tensor:
        if padding == "periodic":
            return self._focus_sums(net, target, net.periodic_density(x), focus)
        return self.padded(net, target, pad(x, context, padding), focus, context)

    @staticmethod
    def _focus_sums(net: nn.Module, target: Target, density: torch.Tensor, focus: int) -> torch.Tensor:
        """Tile terms (N, *n, sums) of a density over a whole grid (N, raw, *cells), summed over each
        focus region's cells."""
        density = target.site_terms(density, 1)
        ndim = density.ndim - 2
        cells = focus // net.stride
        counts = [s // cells for s in density.shape[2:]]
        split = [d for n in counts for d in (n, cells)]
        summed = density.reshape(*density.shape[:2], *split).sum(tuple(range(3, 3 + 2 * ndim, 2)))
        return summed.movedim(1, -1)


TILE_COPIES = TileCopies()
DENSITY_OVER_GRID = DensityOverGrid()


def evaluation_of(net: nn.Module) -> Evaluation:
    """The network's evaluation strategy: its `evaluation` attribute, tile copies by default."""
    return getattr(net, "evaluation", TILE_COPIES)
