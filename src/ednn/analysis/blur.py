"""Blur resilience (paper §3.2.1, Fig. 6): a model's totals when part of every tile is blurred.

Every tile (edge t = f + 2c, t^ndim pixels) of a grid gets its own copy in which the pixels of one
region are replaced by those of the grid blurred by a Gaussian of width σ pixels (each channel on
its own, over the model's padding: periodic images wrap around), and the tile network sees that
copy; the tile terms are summed to totals as usual. Every pixel is blurred alike, wherever it lies
in the tile, and a pixel blurred in one tile is still sharp in the other tiles that see it, so a
network that discounts its overlapping context should move little under context blur.

Regions, of k = round(φ · t^ndim) pixels, φ the blurred fraction of the tile's pixels. Pixels are
ranked by the Chebyshev distance of their centre from the tile centre (square shells), then by the
Euclidean distance, then by index. Focus blur: the k innermost pixels (a centred square growing
shell by shell; k ≤ f^ndim keeps it inside the focus). Context blur: the k outermost (the outer
ring, from the tile edge inwards; k ≤ t^ndim − f^ndim keeps it inside the context). The two never
overlap and, at one φ, blur the same number of pixels: the paper's "constant area".

For a density network (`DensityOverGrid`) the tile is the receptive field of its focus region's
cells: context blur blurs the halo around one focus region, and the tile's terms are that region's
summed density, so the total is still the sum over regions, each seeing its own blurred halo.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from scipy import ndimage

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.tiling import pad, tiles_from_padded

Region = Literal["focus", "context"]
#: Tile pixels (tiles × channels × t^ndim) blurred and evaluated at once; bounds memory.
CHUNK_PIXELS = 2**22


def shell_order(focus: int, context: int, ndim: int = 2) -> np.ndarray:
    """Flat pixel indices (t^ndim,) of a tile, innermost first (square shells, then Euclidean distance, then index)."""
    edge = focus + 2 * context
    offsets = np.stack(np.meshgrid(*[np.arange(edge) - (edge - 1) / 2] * ndim, indexing="ij")).reshape(ndim, -1)
    chebyshev = np.abs(offsets).max(0)
    euclidean = np.square(offsets).sum(0)
    return np.lexsort((np.arange(edge**ndim), euclidean, chebyshev))


def blur_mask(focus: int, context: int, region: Region, fraction: float, ndim: int = 2) -> np.ndarray:
    """Boolean mask (t,)*ndim of the pixels blurred in every tile: the round(fraction · t^ndim)
    innermost pixels (region 'focus') or outermost (region 'context')."""
    if region not in ("focus", "context"):
        raise EDNNError(f"blur region must be 'focus' or 'context', got {region!r}")
    if context == 0:
        raise EDNNError("this model has no context (c = 0): focus and context blur cannot be compared")
    if not 0 <= fraction <= 1:
        raise EDNNError(f"blurred fraction must lie in [0, 1], got {fraction}")
    edge = focus + 2 * context
    room = focus**ndim if region == "focus" else edge**ndim - focus**ndim
    pixels = round(fraction * edge**ndim)
    if pixels > room:
        raise EDNNError(
            f"{region} blur of {pixels} pixels ({fraction:.3g} of the tile) exceeds the {region}'s {room} "
            f"({room / edge**ndim:.3g} of the tile)"
        )
    order = shell_order(focus, context, ndim)
    mask = np.zeros(edge**ndim, bool)
    mask[order[:pixels] if region == "focus" else order[edge**ndim - pixels :]] = True
    return mask.reshape((edge,) * ndim)


def _blurred_padded(model: EDNN, grid: torch.Tensor, sigma: float) -> torch.Tensor:
    """The grid (N, C, *spatial) padded by the context as the model pads it, then blurred over its spatial
    axes by a Gaussian of σ pixels (truncated at 4σ, as `scipy.ndimage.gaussian_filter`) with the padding
    continued beyond the halo: (N, C, *(spatial + 2c))."""
    reach = int(4 * sigma + 0.5)
    wide = pad(grid, model.context + reach, model.padding).numpy()
    blurred = ndimage.gaussian_filter(wide, sigma=[0, 0] + [sigma] * (wide.ndim - 2), mode="constant")
    inner = (slice(None), slice(None), *(slice(reach, size - reach) for size in wide.shape[2:]))
    return torch.from_numpy(np.ascontiguousarray(blurred[inner]))


def blurred_totals_of_masks(model: EDNN, x: np.ndarray, sigma: float, masks: Sequence[np.ndarray]) -> np.ndarray:
    """Physical totals (len(masks), N, outputs), float64, of grids x (N, *spatial, C) with the pixels of each
    mask (t,)*ndim blurred by σ pixels in every tile; the extensive offsets use the unblurred grids."""
    if not (math.isfinite(sigma) and sigma >= 0):
        raise EDNNError(f"blur width sigma must be a finite number of pixels >= 0, got {sigma}")
    edge = model.tile
    for mask in masks:
        if mask.shape != (edge,) * model.ndim:
            raise EDNNError(f"blur mask has shape {mask.shape}; this model's tiles are {(edge,) * model.ndim}")
    model.eval()
    x = model.as_grid(x)
    tiles_per_example = math.prod(s // model.focus for s in x.shape[1:-1])
    step = max(1, CHUNK_PIXELS // (tiles_per_example * model.channels * edge**model.ndim))
    sums = np.zeros((len(masks), x.shape[0], model.target.sums))
    with torch.inference_mode():
        for i in range(0, x.shape[0], step):
            grid = torch.as_tensor(np.ascontiguousarray(x[i : i + step]), dtype=model.dtype).movedim(-1, 1)
            sharp, blurred = (
                tiles_from_padded(padded, model.focus, model.context)
                .reshape(-1, model.channels, *(edge,) * model.ndim)
                .numpy()
                for padded in (pad(grid, model.context, model.padding), _blurred_padded(model, grid, sigma))
            )
            for m, mask in enumerate(masks):
                seen = torch.from_numpy(np.where(mask, blurred, sharp)).to(model.device)
                terms = model.tile_terms(seen).double().cpu().numpy()
                sums[m, i : i + step] = terms.reshape(len(grid), tiles_per_example, -1).sum(1)
    n_sites = math.prod(x.shape[1:-1])
    intensity = torch.from_numpy(x.sum(axis=tuple(range(1, model.ndim + 1)), dtype=np.float64))
    return np.stack([model.target.total(torch.from_numpy(s), n_sites, intensity).cpu().numpy() for s in sums])


def blurred_totals(model: EDNN, x: np.ndarray, region: Region, fraction: float, sigma: float) -> np.ndarray:
    """Totals of grids x (N, *spatial) or (N, *spatial, C) with `fraction` of every tile's pixels blurred
    by σ pixels in the focus or the context (`blur_mask`): float64 (N,) or (N, outputs), as `predict`."""
    mask = blur_mask(model.focus, model.context, region, fraction, model.ndim)
    totals = blurred_totals_of_masks(model, x, sigma, [mask])[0]
    return totals[:, 0] if model.outputs == 1 else totals
