"""Render atoms as periodic Gaussian images (paper eq. 2).

V_c(x, y) = Σ_i w_ic Σ_images exp(−r_i² / 2γ²), in Å, over a rectangular in-plane cell
(Lx, Ly) tiled periodically. An (nx, ny) grid has pixel size Δx = Lx/nx, Δy = Ly/ny and
pixel (i, j) is centred at ((i + ½)Δx, (j + ½)Δy); z of the positions is ignored.
Weights: w_i = Z_i in a single channel, or 1 in the channel of atom i's element.

Truncation: each atom's Gaussian is evaluated on a square stencil of (2h + 1)² pixels
around the pixel holding it (h = stencil_halfwidth) and dropped outside, which is only
where it is below PEAK_TRUNCATION = 1e-6 of its peak. So each atom's contribution is
exact wherever it is ≥ 1e-6 of its peak, and every pixel's absolute error is at most
1e-6 × Σ (weights of the atoms within reach), up to a relative e^(−L²/2γ²) from further
dropped images in cells of edge L only a few γ wide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from ase.data import chemical_symbols

from ednn.core.errors import EDNNError

PEAK_TRUNCATION = 1e-6  # each atom's Gaussian is dropped where it is below this fraction of its peak

_CHUNK_VALUES = 1 << 18  # stencil values scattered per step; keeps the working set in cache
_MAX_Z = len(chemical_symbols) - 1


def stencil_halfwidth(gamma: float, pixel_size: float, truncation: float = PEAK_TRUNCATION) -> int:
    """Pixels each side of an atom's pixel that its Gaussian reaches before falling below `truncation` of its peak.

    gamma, pixel_size in Å. The Gaussian exceeds `truncation` out to R = γ·√(2 ln(1/truncation));
    an atom anywhere in pixel k is within R of the centre of pixel k ± m only if (m − ½)Δ < R.
    """
    _check_positive(gamma, "gamma")
    _check_positive(pixel_size, "pixel size")
    if not 0 < truncation < 1:
        raise EDNNError(f"truncation must lie strictly between 0 and 1, got {truncation}")
    reach = gamma * math.sqrt(2.0 * math.log(1.0 / truncation))
    return math.floor(reach / pixel_size + 0.5)


def render(
    positions: torch.Tensor | np.ndarray,
    numbers: torch.Tensor | np.ndarray | Sequence[int],
    cell_lengths: Sequence[float],
    shape: Sequence[int],
    *,
    gamma: float = 0.2,
    elements: Sequence[int] | None = None,
    origin: Sequence[int] = (0, 0),
    size: Sequence[int] | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Gaussian image of atoms in a periodic rectangular cell, channel last.

    positions: (natoms, 2) or (natoms, 3) in Å, any values (they wrap periodically); a torch
    tensor that requires grad gives an output differentiable with respect to it.
    numbers: (natoms,) atomic numbers. cell_lengths: (Lx, Ly) in Å. shape: (nx, ny) pixels
    of the whole cell. gamma: Gaussian width γ in Å.
    elements: None for one channel weighted by Z, or atomic numbers giving one weight-1
    channel per element, in that order.
    origin, size: render only pixels [origin, origin + size) along each axis of the
    infinite periodic plane (global pixel indices; origin may be negative, size may exceed
    the cell; size None means the whole cell from origin). Cost scales with the atoms
    passed and the block size, unless the block plus stencil is wider than the cell.
    Returns (size_x, size_y, C) in `dtype`, C = 1 or len(elements).
    """
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise EDNNError(f"dtype must be a torch floating-point dtype, got {dtype}")
    pos = _positions(positions)
    device = pos.device
    z = _numbers(numbers, pos.shape[0], device)
    lengths = _pair(cell_lengths, "cell_lengths")
    for length in lengths:
        _check_positive(length, "cell length")
    _check_positive(gamma, "gamma")
    n = _whole_pair(shape, "shape", minimum=1)
    o = _whole_pair(origin, "origin", minimum=None)
    s = n if size is None else _whole_pair(size, "size", minimum=0)
    weights, channel, nchannels = channel_weights(z, elements, dtype)
    if s[0] == 0 or s[1] == 0:
        return torch.zeros(s[0], s[1], nchannels, dtype=dtype, device=device)

    axes = [_Axis(pos[:, a], lengths[a], n[a], o[a], s[a], gamma, dtype) for a in range(2)]
    ax, ay = axes
    touching = ax.touching() & ay.touching()
    if not bool(touching.all()):
        keep = touching.nonzero().squeeze(1)
        for axis in axes:
            axis.select(keep)
        weights, channel = weights[keep], channel[keep]
    # Visit atoms in raster order so that consecutive stencils hit nearby memory.
    span_y = ay.length + 2 * ay.h
    order = torch.argsort((ax.centre + ax.h) * span_y + (ay.centre + ay.h))
    for axis in axes:
        axis.select(order)
    weights, channel = weights[order], channel[order]

    out = torch.zeros(ax.length * ay.length * nchannels, dtype=dtype, device=device)
    index_dtype = torch.int32 if out.numel() < 2**31 else torch.int64
    row_stride = ay.length * nchannels
    natoms = weights.shape[0]
    step = max(1, _CHUNK_VALUES // (ax.offsets.numel() * ay.offsets.numel()))
    for start in range(0, natoms, step):
        chunk = slice(start, start + step)
        gx, ix = ax.stencil(chunk)
        gy, iy = ay.stencil(chunk)
        gx = gx * weights[chunk, None]
        row = (ix * row_stride + channel[chunk, None]).to(index_dtype)
        col = (iy * nchannels).to(index_dtype)
        flat = (row[:, :, None] + col[:, None, :]).reshape(-1)
        out.index_add_(0, flat, (gx[:, :, None] * gy[:, None, :]).reshape(-1))

    image = out.view(ax.length, ay.length, nchannels)
    for a, axis in enumerate(axes):
        wrap = axis.wrap_index()
        if wrap is not None:
            image = image.index_select(a, wrap)
    return image


class _Axis:
    """Per-atom geometry along one axis: the stencil's centre pixel and 1-D Gaussian weights.

    If the block plus stencil fits in the cell, each atom uses the one periodic image
    that can reach the block and indices are block-local (entries outside are zeroed);
    otherwise the whole cell is rendered with wrapped indices and the block is taken
    afterwards by periodic indexing.
    """

    def __init__(
        self, x: torch.Tensor, length: float, n: int, origin: int, size: int, gamma: float, dtype: torch.dtype
    ) -> None:
        pixel = length / n
        self.h = stencil_halfwidth(gamma, pixel, PEAK_TRUNCATION)
        self.n, self.origin, self.size = n, origin, size
        self.fits = size + 2 * self.h <= n
        self.length = size if self.fits else n
        u = x / pixel
        u = u - n * torch.floor(u.detach() / n)  # in [0, n]
        k = torch.floor(u.detach()).long()
        self.frac = (u - k).to(dtype)  # position within its pixel, in pixels
        if self.fits:
            # The one image whose centre pixel lies in [origin - h, origin - h + n).
            first = origin - self.h
            self.centre = first + torch.remainder(k - first, n) - origin
        else:
            self.centre = torch.remainder(k, n)
        self.offsets = torch.arange(-self.h, self.h + 1, device=x.device)
        self.scaled_offsets = (self.offsets + 0.5).to(dtype)
        self.factor = pixel * pixel / (2.0 * gamma * gamma)

    def touching(self) -> torch.Tensor:
        """Atoms whose stencil reaches the block."""
        if not self.fits:
            return torch.ones_like(self.centre, dtype=torch.bool)
        return self.centre < self.size + self.h

    def select(self, index: torch.Tensor) -> None:
        """Keep (and reorder to) the atoms at `index`."""
        self.centre, self.frac = self.centre[index], self.frac[index]

    def stencil(self, chunk: slice) -> tuple[torch.Tensor, torch.Tensor]:
        """1-D weights exp(−d²/2γ²) and intermediate indices, both (atoms in chunk, 2h + 1)."""
        d = self.scaled_offsets - self.frac[chunk, None]
        g = torch.exp(-self.factor * d * d)
        index = self.centre[chunk, None] + self.offsets
        if self.fits:
            inside = (index >= 0) & (index < self.size)
            g = torch.where(inside, g, torch.zeros((), dtype=g.dtype, device=g.device))
            index = torch.where(inside, index, torch.zeros_like(index))
        else:
            index = torch.remainder(index, self.n)
        return g, index

    def wrap_index(self) -> torch.Tensor | None:
        """Cell indices of the block when the whole cell was rendered; None if not needed."""
        if self.fits or (self.origin % self.n == 0 and self.size == self.n):
            return None
        block = torch.arange(self.origin, self.origin + self.size, device=self.centre.device)
        return torch.remainder(block, self.n)


def _positions(positions) -> torch.Tensor:
    """(natoms, 2) float64 x, y in Å; keeps autograd for torch input."""
    if isinstance(positions, torch.Tensor):
        pos = positions
    else:
        try:
            pos = torch.as_tensor(np.asarray(positions, dtype=np.float64))
        except (TypeError, ValueError) as error:
            raise EDNNError(f"positions must be a numeric (natoms, 2|3) array: {error}") from None
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise EDNNError(f"positions must have shape (natoms, 2) or (natoms, 3), got {tuple(pos.shape)}")
    if pos.shape[0] == 0:
        raise EDNNError("there are no atoms to render")
    if pos.is_complex() or not bool(torch.isfinite(pos.detach()).all()):
        raise EDNNError("positions must all be finite real numbers (found NaN or inf)")
    return pos[:, :2].to(torch.float64)


def _numbers(numbers, natoms: int, device: torch.device) -> torch.Tensor:
    """(natoms,) int64 atomic numbers on `device`."""
    if isinstance(numbers, torch.Tensor):
        z = numbers.detach()
    else:
        try:
            z = torch.as_tensor(np.asarray(numbers))
        except (TypeError, ValueError, RuntimeError):
            raise EDNNError("numbers must be an array of whole atomic numbers") from None
    if z.ndim != 1 or z.shape[0] != natoms:
        raise EDNNError(f"numbers must have shape ({natoms},) to match the positions, got {tuple(z.shape)}")
    z = z.to(device)
    if z.is_floating_point() and not bool((z == torch.round(z)).all()):
        raise EDNNError("atomic numbers must be whole numbers")
    z = z.long()
    if not bool(((z >= 1) & (z <= _MAX_Z)).all()):
        raise EDNNError(f"atomic numbers must lie between 1 and {_MAX_Z}")
    return z


def channel_weights(z: torch.Tensor, elements, dtype) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Per-atom weight, per-atom channel and the channel count."""
    if elements is None:
        return z.to(dtype), torch.zeros_like(z), 1
    known = [int(e) for e in elements] if len(elements) else []
    if not known or any(not 1 <= e <= _MAX_Z for e in known) or len(set(known)) != len(known):
        raise EDNNError(f"elements must be distinct atomic numbers between 1 and {_MAX_Z}, got {list(elements)}")
    table = torch.full((_MAX_Z + 1,), -1, dtype=torch.long, device=z.device)
    table[torch.tensor(known, device=z.device)] = torch.arange(len(known), device=z.device)
    channel = table[z]
    missing = (channel < 0).nonzero()
    if missing.numel():
        symbol = chemical_symbols[int(z[missing[0, 0]])]
        names = ", ".join(chemical_symbols[e] for e in known)
        raise EDNNError(f"element {symbol} has no channel; the channel elements are {names}")
    return torch.ones(z.shape, dtype=dtype, device=z.device), channel, len(known)


def _pair(value, name: str) -> tuple:
    try:
        pair = tuple(value)
    except TypeError:
        raise EDNNError(f"{name} must be a pair of numbers, got {value!r}") from None
    if len(pair) != 2:
        raise EDNNError(f"{name} must be a pair of numbers, got {value!r}")
    return pair


def _whole_pair(value, name: str, minimum: int | None) -> tuple[int, int]:
    pair = _pair(value, name)
    for v in pair:
        try:
            whole = int(v) == v
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise EDNNError(f"{name} must be a pair of whole numbers, got {value!r}")
        if minimum is not None and v < minimum:
            raise EDNNError(f"{name} must be a pair of whole numbers >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_positive(value, name: str) -> None:
    try:
        ok = math.isfinite(value) and value > 0
    except TypeError:
        ok = False
    if not ok:
        raise EDNNError(f"{name} must be a positive finite number, got {value!r}")


def single_atom_boxes(
    xy: torch.Tensor,
    weights: torch.Tensor,
    channel: torch.Tensor,
    nchannels: int,
    pixel_size: Sequence[float],
    corners: torch.Tensor,
    box: Sequence[int],
    gamma: float = 0.2,
) -> torch.Tensor:
    """Images (K, C, bx, by), float64, of K single atoms, each on its own box of pixels.

    xy (K, 2) in Å; weights, channel (K,) as `channel_weights` gives them; corners (K, 2)
    global pixel indices of each box's first pixel, in the same periodic image as xy (no
    wrapping here: boxes must lie near their atom). The same stencil as `render`: pixels
    within stencil_halfwidth of the atom's own pixel, and nothing beyond.
    """
    profiles = []
    for a in range(2):
        pixel = float(pixel_size[a])
        h = stencil_halfwidth(gamma, pixel, PEAK_TRUNCATION)
        u = xy[:, a] / pixel
        k = torch.floor(u)
        offset = corners[:, a, None] + torch.arange(box[a]) - k[:, None]  # (K, b)
        d = offset + 0.5 - (u - k)[:, None]
        g = torch.exp(-(pixel * pixel / (2.0 * gamma * gamma)) * d * d)
        profiles.append(torch.where(offset.abs() <= h, g, 0.0))
    values = weights[:, None, None] * profiles[0][:, :, None] * profiles[1][:, None, :]
    out = torch.zeros(len(xy), nchannels, *box, dtype=torch.float64)
    out[torch.arange(len(xy)), channel] = values
    return out
