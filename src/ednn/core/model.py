"""The EDNN: one shared tile network applied to every tile, contributions summed.

Targets live in scaled units inside the network: a physical total is
    total = scale · Σ_tiles net(tile) + offset_per_site · n_sites
            + Σ_c offset_per_intensity_c · Σ_pixels x_c,
a scale factor and extensive offsets (per site, and per unit of each channel's
intensity: for atom images with one channel per element that is a reference energy
per atom of each element), so the model stays extensive on inputs of any size.
A `readout` (`ednn.core.readout`, e.g. charge equilibration) replaces the plain sum by an
extensive function of a few summed terms per site. Training works on the scaled sum
(`forward`); users call
`predict`, which takes numpy grids of any valid size and returns float64 totals.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from ase import Atoms
from torch import nn

from ednn.core.errors import EDNNError
from ednn.core.nets import LocalDensityNet
from ednn.core.readout import make_readout
from ednn.core.tiling import Padding, check_geometry, check_spatial_shape, pad, tile, tiles_from_padded

_ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.SiLU, nn.GELU, nn.Sigmoid, nn.Softplus, nn.LeakyReLU, nn.ELU)
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}

#: Tile pixels (tiles × channels × t^ndim) evaluated at once by `predict`; bounds memory.
PREDICT_CHUNK_PIXELS = 2**19
#: Tile pixels per call of the tile network (at least MIN_TILES_PER_CALL tiles): cache-sized
#: calls ran 2× faster than one large call on 2 CPU cores (docs/speed.md).
NET_CALL_PIXELS = 2**15
MIN_TILES_PER_CALL = 16
#: Structures whose image has more pixels than this are rendered and evaluated block by block.
STREAM_ABOVE_PIXELS = 2**22


def _starts_with_dense(net: nn.Module, in_features: int) -> bool:
    """True when `net` is Flatten → Linear over the whole tile → Linear/elementwise layers."""
    if not (isinstance(net, nn.Sequential) and len(net) >= 2):
        return False
    if not (isinstance(net[0], nn.Flatten) and isinstance(net[1], nn.Linear)):
        return False
    if net[1].in_features != in_features:
        return False
    return all(isinstance(m, (nn.Linear, *_ELEMENTWISE)) for m in list(net)[2:])


class EDNN(nn.Module):
    """Extensive deep neural network around any tile network.

    net: maps tiles (B, C, *t) with t = focus + 2·context to (B, outputs).
    ndim: number of spatial dimensions; channels: C; padding: 'periodic' or 'zeros'.
    scale, offset_per_site: per output; buffer offset_per_intensity (outputs, C): see the
        module docstring.
    imaging: for models of atoms, an `AtomImaging` dict (pixel size, Gaussian width,
        elements); enables `predict_atoms`.
    readout: None (the total is the sum of tile outputs) or the name of an `ednn.core.readout`
        ('qeq': charge equilibration); the net then gives the readout's raw values per site
        (per tile, or per density cell of a `LocalDensityNet`), and tiles give `sums` terms.
    dense_conv: evaluate a leading dense layer over the whole tile as a strided
        convolution over the padded grid instead of copying tiles. Same numbers; on
        CPU it measured slower than tile copies (docs/speed.md), hence off by default.
    """

    def __init__(self, net: nn.Module, focus: int, context: int, *, ndim: int = 2,
                 channels: int = 1, outputs: int = 1, padding: Padding = "periodic",
                 scale: Sequence[float] | float = 1.0,
                 offset_per_site: Sequence[float] | float = 0.0,
                 targets: Sequence[str] | None = None, info: dict[str, Any] | None = None,
                 dense_conv: bool = False, imaging: dict[str, Any] | None = None,
                 readout: str | None = None):
        super().__init__()
        check_geometry(focus, context)
        if padding not in ("periodic", "zeros"):
            raise EDNNError(f"padding must be 'periodic' or 'zeros', got {padding!r}")
        self.net = net
        self.focus, self.context, self.ndim = int(focus), int(context), int(ndim)
        self.channels, self.outputs, self.padding = int(channels), int(outputs), padding
        self.targets = list(targets) if targets is not None else (
            ["energy"] if outputs == 1 else [f"y{i}" for i in range(outputs)])
        if len(self.targets) != self.outputs:
            raise EDNNError(f"{len(self.targets)} target names for {self.outputs} outputs")
        self.info: dict[str, Any] = dict(info or {})
        self.readout = make_readout(readout)
        if self.readout is not None and self.outputs != 1:
            raise EDNNError(f"the {readout!r} readout gives one output (energy), not {self.outputs}")
        #: Terms each tile gives (summed over the structure): the outputs, or the readout's sums.
        self.sums = self.outputs if self.readout is None else self.readout.sums
        self.register_buffer("scale", torch.ones(outputs, dtype=torch.float64) * torch.as_tensor(scale, dtype=torch.float64))
        self.register_buffer("offset_per_site", torch.zeros(outputs, dtype=torch.float64) + torch.as_tensor(offset_per_site, dtype=torch.float64))
        self.register_buffer("offset_per_intensity", torch.zeros(outputs, self.channels, dtype=torch.float64))
        self.imaging = None
        if imaging is not None:
            from ednn.atoms.images import AtomImaging

            self.imaging = AtomImaging.from_dict(imaging)
            if self.imaging.channels != self.channels or ndim != 2:
                raise EDNNError(f"atom imaging with {self.imaging.channels} channels needs a 2-D model with "
                                f"as many channels, got {ndim}-D with {self.channels}")
        self.dense_conv_possible = _starts_with_dense(net, self.channels * self.tile**self.ndim) and self.ndim in _CONV
        if dense_conv and not self.dense_conv_possible:
            raise EDNNError("dense_conv needs a network that starts with Flatten and a dense layer over the whole tile")
        self.use_dense_conv = dense_conv

    @property
    def tile(self) -> int:
        """Tile edge f + 2c in pixels."""
        return self.focus + 2 * self.context

    # ---- tensor path (channel-first, float) -------------------------------------------

    def raw_from_padded(self, padded: torch.Tensor, dense_conv: bool | None = None,
                        cache_sized: bool = True) -> torch.Tensor:
        """Scaled tile outputs (N, *n, sums) of an already padded grid (N, C, *P): the
        outputs, or with a readout its summable terms (`combine` makes totals of their sums).

        `dense_conv` picks the strided-convolution evaluation of a leading dense layer
        or the explicit tile copies (default: the model's `use_dense_conv`); `cache_sized`
        feeds tile copies to the network in cache-sized calls (False: in one call, faster
        for a few dozen tiles).
        """
        use_conv = self.use_dense_conv if dense_conv is None else dense_conv
        if use_conv and not self.dense_conv_possible:
            raise EDNNError("this tile network does not start with a dense layer over the whole tile")
        if use_conv:
            first = self.net[1]
            weight = first.weight.view(first.out_features, self.channels, *[self.tile] * self.ndim)
            hidden = _CONV[self.ndim](padded, weight, first.bias, stride=self.focus)
            hidden = hidden.movedim(1, -1)
            for layer in list(self.net)[2:]:
                hidden = layer(hidden)
            return self.site_terms(hidden, -1)
        if isinstance(self.net, LocalDensityNet):
            return self._focus_sums(self.net.density(padded))
        tiles = tiles_from_padded(padded, self.focus, self.context)
        counts = tiles.shape[1:1 + self.ndim]
        flat = tiles.reshape(-1, self.channels, *[self.tile] * self.ndim)
        chunk = max(MIN_TILES_PER_CALL, NET_CALL_PIXELS // flat[0].numel()) if cache_sized else len(flat)
        out = torch.cat([self.tile_terms(part) for part in flat.split(chunk)]) if len(flat) > chunk \
            else self.tile_terms(flat)
        return out.view(padded.shape[0], *counts, self.sums)

    def tile_terms(self, tiles: torch.Tensor) -> torch.Tensor:
        """Scaled outputs (B, sums) of explicit tiles (B, C, *t): the net's outputs, or with
        a readout its terms per site summed over the tile (a density net's cells each a site)."""
        if self.readout is None:
            return self.net(tiles)
        if isinstance(self.net, LocalDensityNet):
            return self.site_terms(self.net.density(tiles), 1).flatten(2).sum(-1)
        return self.site_terms(self.net(tiles), -1)

    def _focus_sums(self, density: torch.Tensor) -> torch.Tensor:
        """Tile outputs (N, *n, sums) of a `LocalDensityNet`'s density over a whole grid
        (N, outputs, *(n·f/4)) (with a readout: each cell's terms), summed over each focus
        region's cells."""
        density = self.site_terms(density, 1)
        cells = self.focus // self.net.stride
        counts = [s // cells for s in density.shape[2:]]
        split = [d for n in counts for d in (n, cells)]
        summed = density.reshape(*density.shape[:2], *split).sum(tuple(range(3, 3 + 2 * self.ndim, 2)))
        return summed.movedim(1, -1)

    def site_terms(self, raw: torch.Tensor, dim: int) -> torch.Tensor:
        """The readout's summable terms of raw site values along `dim` (no readout: raw)."""
        return raw if self.readout is None else self.readout.site_terms(raw, dim)

    def combine(self, sums: torch.Tensor) -> torch.Tensor:
        """Scaled totals (N, outputs) of tile outputs summed over each structure (N, sums)."""
        return sums if self.readout is None else self.readout(sums)

    def tiles(self, x: torch.Tensor) -> torch.Tensor:
        """Tiles (N, *n, C, *t) of a grid x (N, C, *spatial), as a strided view."""
        return tile(x, self.focus, self.context, self.padding)

    def tile_outputs(self, x: torch.Tensor, dense_conv: bool | None = None) -> torch.Tensor:
        """Scaled tile outputs (N, *n, sums) of a grid x (N, C, *spatial)."""
        check_spatial_shape(x.shape[2:], self.focus, self.context, self.padding)
        if dense_conv and not self.dense_conv_possible:
            raise EDNNError("this tile network does not start with a dense layer over the whole tile")
        if isinstance(self.net, LocalDensityNet) and self.padding == "periodic":
            return self._focus_sums(self.net.periodic_density(x))
        return self.raw_from_padded(pad(x, self.context, self.padding), dense_conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled totals (N, outputs) of a grid x (N, C, *spatial); the training target."""
        return self.combine(self.tile_outputs(x).flatten(1, self.ndim).sum(1))

    def offsets(self, n_sites: int, intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Extensive offsets (N or 1, outputs), float64, of grids of `n_sites` pixels whose
        channels sum to `intensity` (N, C) (None: no intensity offset)."""
        offset = (self.offset_per_site * n_sites)[None]
        if intensity is not None:
            offset = offset + intensity.double() @ self.offset_per_intensity.T
        return offset

    def to_physical(self, scaled_sum: torch.Tensor, n_sites: int,
                    intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Physical totals (N, outputs), float64, in the target's unit, from scaled sums
        (N, outputs) over grids of `n_sites` pixels with channel sums `intensity` (N, C)."""
        return scaled_sum.double() * self.scale + self.offsets(n_sites, intensity)

    def to_scaled(self, totals: torch.Tensor, n_sites: int, intensity: torch.Tensor | None = None) -> torch.Tensor:
        """Scaled targets (N, outputs), float32, from physical totals (N, outputs); see
        `to_physical`."""
        return ((totals.double() - self.offsets(n_sites, intensity)) / self.scale).float()

    # ---- numpy path for users ---------------------------------------------------------

    def as_grid(self, x: np.ndarray) -> np.ndarray:
        """Check a user array (N, *spatial) or (N, *spatial, C); return (N, *spatial, C)."""
        x = np.asarray(x)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise EDNNError(f"input must be a numeric array, got dtype {x.dtype}")
        axes = ", ".join(f"L{i + 1}" for i in range(self.ndim))
        expect = f"(N, {axes}, {self.channels})" + (f" or (N, {axes})" if self.channels == 1 else "")
        if x.ndim == self.ndim + 1 and self.channels == 1:
            x = x[..., None]
        if x.ndim != self.ndim + 2 or x.shape[-1] != self.channels:
            raise EDNNError(f"input has shape {x.shape}; this {self.ndim}-D model with {self.channels} "
                            f"channel{'s' * (self.channels > 1)} expects {expect}")
        if x.shape[0] == 0:
            raise EDNNError("input holds no examples")
        if np.iscomplexobj(x):
            raise EDNNError("input must be real, got complex values")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise EDNNError("input contains NaN or infinite values")
        check_spatial_shape(x.shape[1:-1], self.focus, self.context, self.padding)
        known = self.info.get("data", {}).get("input_values")
        if known is not None and not np.isin(x, known).all():
            unseen = np.unique(x[~np.isin(x, known)])
            raise EDNNError(f"input holds values ({', '.join(f'{v:g}' for v in unseen[:4])}{', …' * (len(unseen) > 4)}) "
                            f"this model never saw: its training grids held only {', '.join(f'{v:g}' for v in known)}")
        return x

    @staticmethod
    def _channels_first(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32).movedim(-1, 1)

    def _scaled_tile_chunks(self, x: np.ndarray) -> Iterator[tuple[slice, slice, np.ndarray]]:
        """Scaled tile outputs of x (N, *spatial, C), chunk by chunk, as float64.

        Yields (examples, first-axis tile rows, outputs of shape (examples, rows, *n[1:],
        sums)); a chunk holds at most PREDICT_CHUNK_PIXELS tile pixels (focus pixels for a
        local_density net, which copies no tiles), so a single large grid is cut into bands
        of tile rows.
        """
        counts = [s // self.focus for s in x.shape[1:-1]]
        tiles_per_example = math.prod(counts)
        window = self.focus if isinstance(self.net, LocalDensityNet) else self.tile  # density nets copy no tiles
        budget = max(1, PREDICT_CHUNK_PIXELS // (self.channels * window**self.ndim))
        with torch.inference_mode():
            if tiles_per_example <= budget:
                step = budget // tiles_per_example
                for i in range(0, x.shape[0], step):
                    values = self.tile_outputs(self._channels_first(x[i:i + step]))
                    yield slice(i, i + step), slice(None), values.double().numpy()
                return
            rows = max(1, budget // (tiles_per_example // counts[0]))
            f, c = self.focus, self.context
            for i in range(x.shape[0]):
                padded = pad(self._channels_first(x[i:i + 1]), self.context, self.padding)
                for r in range(0, counts[0], rows):
                    band = padded[:, :, r * f:(r + rows) * f + 2 * c]
                    yield slice(i, i + 1), slice(r, r + rows), self.raw_from_padded(band).double().numpy()

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Physical contribution of each tile, float64 (N, *n) or (N, *n, outputs).

        The map of where the extensive quantity lives; it sums to `predict(x)`. With a
        readout, each tile's share of it (`ChargeEquilibration.shares`). For atoms, pass the
        rendered image: `model.imaging.image(atoms, model.focus)[None]`.
        """
        self.eval()
        if isinstance(x, Atoms) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], Atoms)):
            raise EDNNError("contributions takes grids; for a structure pass its image, "
                            "model.imaging.image(atoms, model.focus)[None]")
        x = self.as_grid(x)
        tiles = np.empty((x.shape[0], *[s // self.focus for s in x.shape[1:-1]], self.sums))
        for examples, rows, values in self._scaled_tile_chunks(x):
            tiles[examples, rows] = values
        if self.readout is not None:
            terms = torch.from_numpy(tiles)
            tiles = self.readout.shares(terms, terms.flatten(1, self.ndim).sum(1)).numpy()
        focus_shape = [d for s in x.shape[1:-1] for d in (s // self.focus, self.focus)]
        region_intensity = x.reshape(x.shape[0], *focus_shape, self.channels).sum(
            axis=tuple(range(2, 2 * self.ndim + 1, 2)), dtype=np.float64)
        per_tile = (tiles * self.scale.numpy() + self.offset_per_site.numpy() * self.focus**self.ndim
                    + region_intensity @ self.offset_per_intensity.numpy().T)
        return per_tile[..., 0] if self.outputs == 1 else per_tile

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Totals of x (N, *spatial) or (N, *spatial, C): float64 (N,) or (N, outputs),
        in the unit of the training target.

        Any spatial size that is a whole number of focus regions works; tile outputs
        are summed in float64. Working memory: a padded float32 copy of at most one
        large example, plus PREDICT_CHUNK_PIXELS tile pixels at a time (focus pixels for a
        `local_density` net, which evaluates its density without copying tiles).
        """
        self.eval()
        x = self.as_grid(x)
        sums = np.zeros((x.shape[0], self.sums))
        for examples, _, values in self._scaled_tile_chunks(x):
            sums[examples] += values.reshape(len(values), -1, self.sums).sum(1)
        n_sites = math.prod(x.shape[1:-1])
        intensity = torch.from_numpy(x.sum(axis=tuple(range(1, self.ndim + 1)), dtype=np.float64))
        totals = self.to_physical(self.combine(torch.from_numpy(sums)), n_sites, intensity).numpy()
        return totals[:, 0] if self.outputs == 1 else totals

    def predict_atoms(self, structures: Atoms | Sequence[Atoms], placements: int = 1) -> np.ndarray:
        """Total energies (N,) float64, in the training target's unit (eV for ednn's atom
        models), of ase.Atoms structures (one or a list) with rectangular in-plane cells
        that are whole numbers of this model's focus regions. Structures of more than
        STREAM_ABOVE_PIXELS pixels are evaluated block by block (`ednn.atoms.blocks`), in
        memory bounded by the block size.

        placements: average over this many in-plane translations of every structure, spread
        evenly over one focus region (`placement_shifts`; the sum is unchanged by whole focus
        regions): the energy does not depend on where the pixel grid lies, a model's
        prediction a little, and the average removes most of that (placements × the time)."""
        if self.imaging is None:
            raise EDNNError("this model was trained on grids, not atoms; use predict() with grids")
        structures = [structures] if isinstance(structures, Atoms) else list(structures)
        if not structures:
            raise EDNNError("no structures to predict")
        wrong = next((type(s).__name__ for s in structures if not isinstance(s, Atoms)), None)
        if wrong is not None:
            raise EDNNError(f"predict_atoms takes ase.Atoms (one or a list), got a {wrong}")
        if isinstance(placements, bool) or not isinstance(placements, (int, np.integer)) or placements < 1:
            raise EDNNError(f"placements must be a whole number of at least 1, got {placements!r}")
        if placements > 1:
            region = np.asarray(self.imaging.pixel_size) * self.focus
            return np.mean([self.predict_atoms([_shifted(s, shift) for s in structures])
                            for shift in placement_shifts(placements) * region], axis=0)
        by_shape: dict[tuple[int, int], list[int]] = {}  # grid shape -> indices of its structures
        totals = np.empty((len(structures), self.outputs))
        for k, atoms in enumerate(structures):
            try:
                shape = self.imaging.grid_shape(atoms, self.focus)
            except EDNNError as error:
                raise error if len(structures) == 1 else EDNNError(f"structure {k}: {error}") from None
            if shape[0] * shape[1] > STREAM_ABOVE_PIXELS and self.outputs == 1:
                from ednn.atoms.bins import AtomBins
                from ednn.atoms.blocks import stream_energy

                totals[k] = stream_energy(self, AtomBins.from_atoms(atoms))
            else:
                by_shape.setdefault(shape, []).append(k)
        for shape, indices in by_shape.items():
            images = np.stack([self.imaging.image(structures[k], self.focus, shape=shape).numpy() for k in indices])
            totals[indices] = self.predict(images).reshape(len(indices), self.outputs)
        return totals[:, 0] if self.outputs == 1 else totals

    def calculator(self, precision: str = "float32"):
        """An ASE calculator (energy in eV, forces in eV/Å) of this atom model; see
        `ednn.atoms.calculator.EDNNCalculator` for `precision` ('float32' or 'float64')."""
        from ednn.atoms.calculator import EDNNCalculator

        return EDNNCalculator(self, precision)


def placement_shifts(count: int) -> np.ndarray:
    """count in-plane shifts (count, 2) as fractions of a focus region, spread evenly (a
    Kronecker sequence: k/count along x, the golden ratio's multiples along y); the first is 0."""
    k = np.arange(count)
    return np.column_stack([k / count, np.mod(k * (math.sqrt(5) - 1) / 2, 1.0)])


def _shifted(atoms: Atoms, shift: np.ndarray) -> Atoms:
    moved = atoms.copy()
    moved.positions[:, :2] += shift
    return moved

