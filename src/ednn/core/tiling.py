"""Periodic focus/context decomposition of N-D, C-channel grids (paper Appendix).

A grid of spatial size L along an axis is padded by the context c on both sides
(periodically by default), then cut into tiles of edge f + 2c that start every f
pixels. Every pixel lies in the focus (the central f pixels) of exactly one tile.
All functions work on channel-first tensors of shape (N, C, *spatial).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

from ednn.core.errors import EDNNError

Padding = Literal["periodic", "zeros"]


def check_geometry(focus: int, context: int) -> None:
    """Reject a focus below 1 or a negative context."""
    if int(focus) != focus or focus < 1:
        raise EDNNError(f"focus must be a whole number >= 1, got {focus}")
    if int(context) != context or context < 0:
        raise EDNNError(f"context must be a whole number >= 0, got {context}")


def nearest_valid_sizes(size: int, focus: int) -> tuple[int, ...]:
    """Whole multiples of `focus` closest to `size` (one below, one above)."""
    below = (size // focus) * focus
    above = below + focus
    return tuple(s for s in (below, above) if s >= focus)


def check_spatial_shape(shape: Sequence[int], focus: int, context: int, padding: Padding) -> None:
    """Check that every spatial size is a whole number of focus regions.

    With periodic padding the context may not exceed the system size: the halo would
    wrap around the whole system more than once.
    """
    check_geometry(focus, context)
    for axis, size in enumerate(shape):
        if size % focus:
            valid = " or ".join(str(s) for s in nearest_valid_sizes(size, focus))
            raise EDNNError(
                f"spatial size {size} along axis {axis} is not a whole number of focus "
                f"regions (f={focus}); nearest valid sizes: {valid}"
            )
        if padding == "periodic" and context > size:
            raise EDNNError(
                f"context {context} exceeds the system size {size} along axis {axis}; "
                f"use a larger system or a context <= {size}"
            )


def pad(x: torch.Tensor, context: int, padding: Padding = "periodic") -> torch.Tensor:
    """Pad every spatial axis of x (N, C, *spatial) by `context` on both sides."""
    if context == 0:
        return x
    if padding == "zeros":
        return F.pad(x, [context] * (2 * (x.ndim - 2)))
    if padding != "periodic":
        raise EDNNError(f"padding must be 'periodic' or 'zeros', got {padding!r}")
    for dim in range(2, x.ndim):
        size = x.shape[dim]
        index = torch.arange(-context, size + context, device=x.device) % size
        x = x.index_select(dim, index)
    return x


def tiles_from_padded(padded: torch.Tensor, focus: int, context: int) -> torch.Tensor:
    """Strided view of the tiles of an already padded grid.

    padded: (N, C, *P) with P_d = n_d·f + 2c.  Returns (N, *n, C, *t) with t = f + 2c,
    a view (no copy) into `padded`.
    """
    edge = focus + 2 * context
    spatial = padded.ndim - 2
    view = padded
    for dim in range(2, padded.ndim):
        view = view.unfold(dim, edge, focus)
    # view: (N, C, *n, *t) -> (N, *n, C, *t)
    order = [0, *range(2, 2 + spatial), 1, *range(2 + spatial, 2 + 2 * spatial)]
    return view.permute(order)


def tile(x: torch.Tensor, focus: int, context: int, padding: Padding = "periodic") -> torch.Tensor:
    """Cut x (N, C, *spatial) into tiles (N, *n, C, *t), n_d = L_d / f, t = f + 2c."""
    check_spatial_shape(x.shape[2:], focus, context, padding)
    return tiles_from_padded(pad(x, context, padding), focus, context)
