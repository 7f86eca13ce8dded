"""Streaming, block-wise EDNN energies of atomic structures of any size.

The structure's pixel grid is cut into blocks of whole focus regions (`block` regions per
edge). Each block is rendered with its context halo straight from the atoms near it (read
from `AtomBins`), its tiles are evaluated, and it contributes (scaled tile sum, channel
intensity of its own pixels); the total is assembled from all blocks in a fixed order in
float64, so it does not depend on how the blocks were scheduled.

Memory per block: the padded image (block·f + 2c)² · C float32 plus the tile network's
working set (`ednn.core.evaluation.NET_CALL_PIXELS` at a time) plus the atoms near the block; nothing
grows with the structure except the per-block results (three floats each).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms
from tqdm import tqdm

from ednn.atoms.bins import AtomBins
from ednn.atoms.images import unknown_elements_error, z_spread
from ednn.atoms.render import render, stencil_halfwidth
from ednn.core.model import EDNN, grids_only

DEFAULT_BLOCK_PIXELS = 1024
"""Block edge aimed at, in pixels (rounded to whole focus regions): 4 MB of float32 per channel."""


@dataclass(frozen=True)
class BlockPlan:
    """Blocks of a (nx, ny) pixel grid: `edge` pixels per block edge (whole focus regions);
    the last block along an axis may be smaller."""

    shape: tuple[int, int]
    edge: int

    @property
    def counts(self) -> tuple[int, int]:
        return tuple(math.ceil(n / self.edge) for n in self.shape)

    def __len__(self) -> int:
        return self.counts[0] * self.counts[1]

    def pixels(self, block: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """(start, stop) pixel ranges along x and y of block number `block` (row-major)."""
        i, j = divmod(block, self.counts[1])
        return tuple((k * self.edge, min((k + 1) * self.edge, n)) for k, n in zip((i, j), self.shape))


def plan_blocks(model: EDNN, bins: AtomBins, block_pixels: int = DEFAULT_BLOCK_PIXELS) -> BlockPlan:
    """Check the structure's cell against the model (one-line errors) and plan its blocks."""
    if model.imaging is None:
        raise grids_only("use predict() with grids")
    probe = Atoms(numbers=[model.imaging.elements[0]], positions=[[0.0, 0.0, 0.0]], cell=bins.cell, pbc=True)
    shape = model.imaging.grid_shape(probe, model.focus)
    unknown = sorted(set(bins.element_counts()) - set(model.imaging.elements))
    if unknown:
        raise unknown_elements_error(unknown, model.imaging.elements)
    edge = max(1, round(block_pixels / model.focus)) * model.focus
    return BlockPlan(shape, min(edge, max(shape)))


def block_partial(model: EDNN, bins: AtomBins, plan: BlockPlan, block: int) -> np.ndarray:
    """[scaled tile sums (model.target.sums), intensity of channel 0, …] of one block, float64 (sums + C,)."""
    imaging, c = model.imaging, model.context
    pixel = [length / n for length, n in zip(bins.lengths, plan.shape)]
    reach = [c + stencil_halfwidth(imaging.gamma, p) + 1 for p in pixel]
    ranges = plan.pixels(block)
    low = [(start - r) * p for (start, _), r, p in zip(ranges, reach, pixel)]
    high = [(stop + r) * p for (_, stop), r, p in zip(ranges, reach, pixel)]
    positions, numbers = bins.region(low, high)
    imaging.check_z_spread(z_spread(positions[:, 2], float(bins.cell[2, 2])), f"block {block}: ")
    size = [stop - start + 2 * c for start, stop in ranges]
    if len(positions):
        image = render(
            positions,
            numbers,
            bins.lengths,
            plan.shape,
            gamma=imaging.gamma,
            elements=imaging.elements if imaging.per_element else None,
            origin=[start - c for start, _ in ranges],
            size=size,
            dtype=torch.float32,
        )
    else:
        image = torch.zeros(*size, imaging.channels)
    with torch.inference_mode():
        padded = image.movedim(-1, 0)[None].to(device=model.device, dtype=model.dtype)
        scaled = model.raw_from_padded(padded).double().reshape(-1, model.target.sums).sum(0).cpu()
    core = image[c : size[0] - c, c : size[1] - c]
    return np.array([*scaled.tolist(), *core.double().sum(dim=(0, 1)).tolist()])


def assemble(model: EDNN, plan: BlockPlan, partials: np.ndarray) -> float:
    """Physical total (eV) from per-block partials (blocks, sums + C), summed exactly (fsum)."""
    sums = torch.tensor([[math.fsum(column) for column in partials.T]], dtype=torch.float64)
    scaled, intensity = sums[:, : model.target.sums], sums[:, model.target.sums :]
    total = model.target.total(scaled, plan.shape[0] * plan.shape[1], intensity)
    return float(total[0, 0])


def stream_energy(
    model: EDNN,
    bins: AtomBins,
    block_pixels: int = DEFAULT_BLOCK_PIXELS,
    progress: bool = False,
    threads: int | None = None,
) -> float:
    """Total energy (eV) of a binned structure, block by block in this process (with a
    progress bar on the blocks if `progress`).

    Blocks run on `threads` Python threads (default: torch's thread count), each block's
    torch work on one thread: blocks are small, and one block split over several threads
    spends more time waiting than computing (measured 9× slower on a loaded 2-core machine).
    """
    model.eval()
    plan = plan_blocks(model, bins, block_pixels)
    threads = threads or torch.get_num_threads()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = pool.map(lambda b: block_partial(model, bins, plan, b), range(len(plan)))
            partials = np.array(list(tqdm(results, total=len(plan), unit="block", desc="blocks", disable=not progress)))
    finally:
        torch.set_num_threads(before)
    return assemble(model, plan, partials)
