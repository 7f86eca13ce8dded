"""Tiles of discrete grids as integers: each pixel's value rank packed into `bits` bits,
pixel k (in the tile's flattened order, channels first) in bits k·bits … (k+1)·bits − 1.

Finding the distinct tiles of a data set is then a 1-D `unique`; a table over every code
(the Ising tile energies, 1 bit a spin) is indexed by the code of each tile.
"""

from __future__ import annotations

import torch


def encode_tiles(ranks: torch.Tensor, bits: int) -> torch.Tensor:
    """Codes (...,) int64 of tiles given as value ranks (..., width), integers in [0, 2^bits)."""
    shifts = torch.arange(ranks.shape[-1], dtype=torch.int64, device=ranks.device) * bits
    return (ranks.long() << shifts).sum(-1)


def decode_tiles(codes: torch.Tensor, width: int, bits: int) -> torch.Tensor:
    """Value ranks (..., width) int64 of the tiles with codes (...,) (the inverse of `encode_tiles`)."""
    shifts = torch.arange(width, dtype=torch.int64, device=codes.device) * bits
    return (codes[..., None] >> shifts) & ((1 << bits) - 1)
