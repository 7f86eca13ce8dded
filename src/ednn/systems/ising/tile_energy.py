"""Tile energies of ±1 lattices tabulated once: every configuration of a tile, evaluated in one call.

A tile of edge t = f + 2c holding C·t^d spins ±1 is one of 2^(C·t^d) configurations. Its
code (`ednn.core.tile_codes`, one bit a spin) is Σ_k b_k·2^k with b_k = (x_k + 1)/2 and k the
pixel's index in the tile flattened in (C, *t) order (channel, then rows, row-major), the order
`ednn.core.tiling` cuts tiles in. A table maps codes to the physical contribution of the tile (for a model: what
`EDNN.contributions` gives, scale and offsets applied), so the total of a periodic
lattice is Σ_tiles table[code], the number `EDNN.predict` gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.tile_codes import decode_tiles, encode_tiles
from ednn.core.tiling import check_geometry, tile

MAX_TILE_PIXELS = 16
"""Largest tile (C·t^d pixels) that is tabulated: 2^16 = 65 536 entries."""


def _all_tiles(pixels: int) -> np.ndarray:
    """Every ±1 tile of `pixels` pixels as int8 (2^pixels, pixels); row = code, column = bit."""
    if pixels > MAX_TILE_PIXELS:
        raise EDNNError(
            f"a tile of {pixels} pixels has 2^{pixels} configurations; tabulating needs at most "
            f"{MAX_TILE_PIXELS} pixels (f + 2c = 4 in 2-D, one channel)"
        )
    return (2 * decode_tiles(torch.arange(2**pixels), pixels, 1) - 1).numpy().astype(np.int8)


def tile_table(model: EDNN) -> np.ndarray:
    """Physical contribution of every ±1 tile of `model`, float64 (2^(C·t^d),), indexed by tile code.

    The tile network runs once on all configurations. Refuses (EDNNError) models of atom
    images, with several outputs or a readout, of another target than 'energy', trained on grids
    of other values than ±1 (info['data']['input_values']), with zero padding around a context, or
    tiles of more than MAX_TILE_PIXELS pixels.
    """
    if model.imaging is not None:
        raise EDNNError("this model was trained on atom images, not on ±1 spins; its tiles cannot be tabulated")
    if model.outputs != 1:
        raise EDNNError(f"tabulating needs a single-output (energy) model; this one has {model.outputs} outputs")
    if model.targets != ["energy"]:
        raise EDNNError(
            f"the Ising Monte Carlo needs a model of the energy; this one was trained on "
            f"{', '.join(map(repr, model.targets))}"
        )
    data = model.info.get("data", {})
    if "input_values" in data and sorted(data["input_values"] or []) != [-1, 1]:
        held = ", ".join(f"{v:g}" for v in data["input_values"] or []) or "many distinct values"
        raise EDNNError(
            f"the Ising Monte Carlo needs a model of ±1 spins; this one was trained on grids holding {held}"
        )
    if model.target.readout is not None:
        raise EDNNError(
            f"tabulating needs tile energies that add up; this model's {model.target.readout.name!r} readout "
            "couples the tiles"
        )
    if model.padding != "periodic" and model.context > 0:
        raise EDNNError("tabulating needs a periodic model; this one pads its context with zeros")
    width = model.channels * model.tile**model.ndim
    spins = _all_tiles(width)
    tiles = torch.from_numpy(spins.astype(np.float32)).reshape(-1, model.channels, *[model.tile] * model.ndim)
    model.eval()
    with torch.inference_mode():
        terms = model.tile_terms(tiles.to(device=model.device, dtype=model.dtype)).double().cpu()
    focus = (slice(None), slice(None), *[slice(model.context, model.context + model.focus)] * model.ndim)
    focus_intensity = tiles[focus].reshape(len(tiles), model.channels, -1).double().sum(-1)
    return (
        model.target.tile_contributions(terms[:, None], model.focus**model.ndim, focus_intensity[:, None])[:, 0, 0]
        .cpu()
        .numpy()
    )


def exact_tile_table(focus: int = 1, context: int = 1) -> np.ndarray:
    """Exact Ising energy (J = 1) of every 2-D one-channel tile, float64 (2^(t²),).

    A tile's term is −Σ_p s_p (s_right(p) + s_down(p)) over the pixels p of its focus, so
    the tiles of a periodic lattice sum to `ising_energy`. Needs context >= 1 (the right
    and lower neighbours of the focus lie in the tile).
    """
    check_geometry(focus, context)
    if context < 1:
        raise EDNNError("the exact Ising energy needs tiles with context >= 1 (bonds leave the focus)")
    t = focus + 2 * context
    s = _all_tiles(t * t).reshape(-1, t, t).astype(np.int64)
    inner = slice(context, context + focus)
    right = s[:, inner, context + 1 : context + focus + 1]
    down = s[:, context + 1 : context + focus + 1, inner]
    return -(s[:, inner, inner] * (right + down)).sum(axis=(1, 2)).astype(np.float64)


def tile_codes(spins: np.ndarray, focus: int, context: int) -> np.ndarray:
    """Codes of the tiles of periodic ±1 lattices spins (N, *spatial): int64 (N, *n), n = L / f."""
    spins = np.asarray(spins)
    if spins.ndim < 2 or not np.all(np.abs(spins) == 1):
        raise EDNNError(f"spins must be ±1 lattices of shape (N, *spatial), got shape {spins.shape}")
    tiles = tile(torch.from_numpy(spins.astype(np.int8))[:, None], focus, context)
    flat = tiles.reshape(*tiles.shape[: spins.ndim], -1)
    return encode_tiles((flat > 0).long(), 1).numpy()


@dataclass(frozen=True)
class TileEnergy:
    """Energy of periodic L×L ±1 lattices as Σ_tiles table[code] (f = focus, c = context).

    table: float64 (2^(t²),) with t = f + 2c, in J; name labels the energy in reports.
    """

    table: np.ndarray
    focus: int
    context: int
    name: str

    def __post_init__(self) -> None:
        check_geometry(self.focus, self.context)
        if self.table.shape != (2 ** (self.tile**2),):
            raise EDNNError(
                f"a table for {self.tile}×{self.tile} tiles has {2 ** (self.tile**2)} entries, "
                f"got shape {self.table.shape}"
            )

    @classmethod
    def from_model(cls, model: EDNN, name: str = "EDNN") -> TileEnergy:
        """The tabulated energy of a 2-D, one-channel model of ±1 spins (see `tile_table`)."""
        table = tile_table(model)
        if model.ndim != 2 or model.channels != 1:
            raise EDNNError(
                f"the Ising Monte Carlo needs a 2-D one-channel model, got {model.ndim}-D "
                f"with {model.channels} channels"
            )
        return cls(table, model.focus, model.context, name)

    @classmethod
    def exact(cls, focus: int = 1, context: int = 1) -> TileEnergy:
        """The exact nearest-neighbour energy (J = 1) in tiles of the given geometry."""
        return cls(exact_tile_table(focus, context), focus, context, "exact")

    @property
    def tile(self) -> int:
        """Tile edge t = f + 2c."""
        return self.focus + 2 * self.context

    def codes(self, spins: np.ndarray) -> np.ndarray:
        """Tile codes, int64 (N, L/f, L/f), of spins (N, L, L)."""
        return tile_codes(spins, self.focus, self.context)

    def energy(self, spins: np.ndarray) -> np.ndarray:
        """Total energies (N,), float64 in J, of periodic lattices spins (N, L, L)."""
        return self.table[self.codes(spins)].reshape(len(spins), -1).sum(1)
