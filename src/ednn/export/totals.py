"""A grid model's totals as one traceable module, and its `torch.export` program.

`EDNN.predict` checks sizes in Python and evaluates in cache-sized chunks; `GridTotals` is the same
computation with no Python-side decision that depends on the grid's size: periodic padding by
concatenated slices, tiles by one gather per axis, the tile network on every tile at once, the sum
and the physical total (`Target`) in float64. `export_program` traces it with dynamic batch and
spatial sizes (each a whole number of focus regions) and checks the program against `predict`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ednn.core.errors import EDNNError
from ednn.core.evaluation import TILE_COPIES, DensityOverGrid
from ednn.core.model import EDNN

#: Focus regions per axis of the grids the program is traced on, and of the two it is checked on.
TRACE_REGIONS = 3
CHECK_REGIONS = (2, 5)
#: Largest disagreement with `predict` an exported program may show, relative to the largest total.
CHECK_RTOL = 1e-4


def net_name(model: EDNN) -> str:
    """The tile network's registered name, or its class name."""
    return getattr(model.net, "registered_name", type(model.net).__name__)


def check_exportable(model: EDNN) -> None:
    """Refuse what the exported graph cannot hold: atom models (their rendering of atoms into
    images) and tile networks evaluated otherwise than on tile copies or as a density."""
    if model.imaging is not None:
        raise EDNNError(
            "atom models do not export: rendering atoms into images (eq. 2) is not a grid operation "
            "the graph can hold; export works on grid models"
        )
    if model.evaluation is not TILE_COPIES and not isinstance(model.evaluation, DensityOverGrid):
        raise EDNNError(
            f"the {net_name(model)} tile network does not export: its evaluation "
            f"({type(model.evaluation).__name__}) is not tile copies or a density over the grid"
        )


class GridTotals(nn.Module):
    """Physical totals (N, outputs), float64, of grids x (N, C, *spatial), float32, every spatial
    size a whole number of focus regions and at least the context (with periodic padding)."""

    def __init__(self, model: EDNN):
        super().__init__()
        check_exportable(model)
        self.net, self.target = model.net, model.target
        self.focus, self.context, self.ndim, self.padding = model.focus, model.context, model.ndim, model.padding
        self.net_dtype = model.dtype
        self.density = isinstance(model.evaluation, DensityOverGrid)

    def padded(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, *L) padded by the context on every spatial axis (N, C, *(L + 2c)); periodic
        padding takes slices of x itself, so a context above L makes the tiles' gather fail."""
        c = self.context
        if c == 0:
            return x
        if self.padding == "zeros":
            return F.pad(x, [c] * (2 * self.ndim))
        for axis in range(2, x.ndim):
            size = x.shape[axis]
            x = torch.cat([x.narrow(axis, size - c, c), x, x.narrow(axis, 0, c)], axis)
        return x

    def tile_terms(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled tile terms (N, tiles, sums), float64, of grids x (N, C, *L)."""
        f, t = self.focus, self.focus + 2 * self.context
        if self.density:  # each density cell already sees its context: no tiles
            terms = self.net.evaluation.grid(self.net, self.target, x, f, self.context, self.padding)
            return terms.reshape(x.shape[0], -1, self.target.sums).double()
        tiles = self.padded(x)
        for axis in range(2, 2 + 2 * self.ndim, 2):  # (N, C, n_0, t, …, P_d, …) → (N, C, n_0, t, …, n_d, t, …)
            count = x.shape[2 + (axis - 2) // 2] // f
            starts = torch.arange(count, device=x.device)[:, None] * f
            index = (starts + torch.arange(t, device=x.device)[None]).reshape(-1)
            tiles = tiles.index_select(axis, index).unflatten(axis, (count, t))
        order = [0, *range(2, 2 + 2 * self.ndim, 2), 1, *range(3, 3 + 2 * self.ndim, 2)]
        tiles = tiles.permute(order).reshape(-1, x.shape[1], *[t] * self.ndim)
        return TILE_COPIES.tiles(self.net, self.target, tiles).double().reshape(x.shape[0], -1, self.target.sums)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.net_dtype)
        sums = self.tile_terms(x).sum(1)
        # the channels' intensity over focus regions: this reshape fails on a size that is not whole regions
        regions = [d for size in x.shape[2:] for d in (size // self.focus, self.focus)]
        intensity = x.double().reshape(*x.shape[:2], *regions).sum(tuple(range(2, 2 + 2 * self.ndim)))
        sites = math.prod(x.shape[2:])
        target = self.target
        return (
            target.combine(sums) * target.scale
            + target.offset_per_site * sites
            + intensity @ target.offset_per_intensity.T
        )


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """Silence torch's own warnings and log lines while exporting (missing torchvision, internal
    deprecations): they are not the user's to act on."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"torch(\.|$)")
            warnings.simplefilter("ignore", FutureWarning)  # torch's deprecations, raised from copyreg too
            yield
    finally:
        logger.setLevel(level)


def sample_grids(model: EDNN, regions: int, count: int, seed: int) -> np.ndarray:
    """Random grids (count, *L, C) of `regions` focus regions per axis (at least the context), of the
    values the model was trained on where they are known (standard normal otherwise)."""
    size = max(regions * model.focus, math.ceil(model.context / model.focus) * model.focus)
    shape = (count, *[size] * model.ndim, model.channels)
    rng = np.random.default_rng(seed)
    known = model.info.get("data", {}).get("input_values")
    grids = rng.choice(np.asarray(known, dtype=np.float32), size=shape) if known else rng.standard_normal(shape)
    return grids.astype(np.float32)


def check_agreement(model: EDNN, totals: Callable[[np.ndarray], np.ndarray], what: str) -> None:
    """Refuse an export whose `totals` (grids (N, C, *L) float32 numpy → (N, outputs)) disagree
    with `model.predict` on grids of CHECK_REGIONS focus regions per axis."""
    for i, regions in enumerate(CHECK_REGIONS):
        grids = sample_grids(model, regions, 2 + i, seed=i)
        expected = model.predict(grids).reshape(len(grids), -1)
        got = np.asarray(totals(np.ascontiguousarray(np.moveaxis(grids, -1, 1))))
        bound = CHECK_RTOL * max(np.abs(expected).max(), model.target.scale.abs().max().item())
        if got.shape != expected.shape or not np.abs(got - expected).max() <= bound:
            raise EDNNError(
                f"the {what} of the {net_name(model)} tile network disagrees with model.predict on grids of "
                f"{grids.shape[1:-1]} pixels: its evaluation does not trace faithfully"
            )


def export_program(model: EDNN) -> torch.export.ExportedProgram:
    """`GridTotals` of `model` through `torch.export`, batch and spatial sizes dynamic (each spatial
    size f × a count of focus regions), checked against `predict`."""
    module = GridTotals(copy.deepcopy(model).cpu().eval()).eval()  # the model itself stays where it is
    batch = torch.export.Dim("batch", min=1)
    spatial = {2 + d: model.focus * torch.export.Dim(f"regions{d}", min=1) for d in range(model.ndim)}
    grids = torch.from_numpy(np.moveaxis(sample_grids(model, TRACE_REGIONS, 2, seed=7), -1, 1).copy())
    try:
        with torch.no_grad(), quiet_torch():
            program = torch.export.export(module, (grids,), dynamic_shapes=({0: batch, **spatial},))
    except Exception as error:  # torch raises many types for what does not trace
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise EDNNError(
            f"the {net_name(model)} tile network does not export: its evaluation does not trace ({reason})"
        ) from None
    run = program.module()

    def totals(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return run(torch.from_numpy(x)).numpy()

    check_agreement(model, totals, "torch.export program")
    return program
