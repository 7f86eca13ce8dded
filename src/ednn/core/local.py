"""Local updates: an EDNN total that stays in step with grids changed a box at a time.

`LocalTileEnergy` keeps a batch of grids (one per Monte Carlo chain) and the scaled output of
every tile. A proposal replaces a periodic box of pixels in some of the grids; only the tiles
whose window (focus + context) meets the box are evaluated again, on a super-window cut
from the grid around the box, and the change of the physical total follows from those tiles
and the change of channel intensity. Accepting writes the box and the new tile outputs
back; rejecting costs nothing more. A model with a readout (charge equilibration) couples
every tile to all others only through a few sums over the tiles, which are kept too: a
proposal changes them by its tiles' change, and the total follows from the new sums.
Totals are accumulated in float64; the grids are kept in
float64 (so thousands of local changes do not drift) and cast to the network's dtype only
for its input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.tiling import check_spatial_shape


@dataclass
class Proposal:
    """Changes to some grids of a `LocalTileEnergy`, with their energy change.

    chains (K,): which grid each change is for. corners (K, ndim): first pixel of each box.
    patches (K, C, *b): the box's new values. delta (K,): change of the physical total,
    float64. The remaining fields say which tiles change, their new scaled outputs (K, *k, sums)
    and the change of the grids' summed outputs (K, sums).
    """

    chains: torch.Tensor
    corners: torch.Tensor
    patches: torch.Tensor
    delta: torch.Tensor
    tile_index: tuple[torch.Tensor, ...]
    new_outputs: torch.Tensor
    sums_change: torch.Tensor
    intensity_change: torch.Tensor


class LocalTileEnergy:
    """Running totals of `model` over grids (B, *spatial, C) of any valid size, one per chain.

    `totals` (B,) float64 always equals the model's prediction for the current grids (up to
    float32 rounding of the network's input and the order of float64 sums).
    """

    def __init__(self, model: EDNN, grids: torch.Tensor):
        if model.padding != "periodic":
            raise EDNNError("local updates need a periodic model")
        if model.outputs != 1:
            raise EDNNError("local updates follow a single output; this model has several")
        grids = torch.as_tensor(grids, dtype=torch.float64)
        if grids.ndim != model.ndim + 2 or grids.shape[-1] != model.channels:
            raise EDNNError(
                f"grids have shape {tuple(grids.shape)}; expected (chains, *spatial, "
                f"{model.channels}) for this {model.ndim}-D model"
            )
        if not torch.isfinite(grids).all():
            raise EDNNError("grids contain NaN or infinite values")
        check_spatial_shape(grids.shape[1:-1], model.focus, model.context, "periodic")
        self.model = model.eval()
        self.dtype = model.dtype
        self.grids = grids.movedim(-1, 1).contiguous()  # (B, C, *S) float64
        self.shape = tuple(self.grids.shape[2:])
        self.tile_counts = tuple(s // model.focus for s in self.shape)
        with torch.no_grad():
            self.outputs = model.tile_outputs(self._input(self.grids)).double().cpu()  # (B, *n, sums)
        self.intensity = self.grids.sum(dim=tuple(range(2, 2 + model.ndim)))  # (B, C)
        self.sums = self.outputs.flatten(1, -2).sum(1)  # (B, sums)
        self.totals = self.physical(self.sums, self.intensity)

    def physical(self, sums: torch.Tensor, intensity: torch.Tensor) -> torch.Tensor:
        """Physical totals (B,) from summed scaled outputs (B, sums) and channel intensities (B, C)."""
        return self.model.target.total(sums, math.prod(self.shape), intensity)[:, 0].cpu()

    def propose(self, chains: torch.Tensor, corners: torch.Tensor, patches: torch.Tensor) -> Proposal:
        """Energy change of writing `patches` (K, C, *b) into boxes at `corners` (K, ndim)
        (any integers: boxes wrap periodically; b ≤ grid size) of grids `chains` (K,), all distinct."""
        f, c, ndim = self.model.focus, self.model.context, self.model.ndim
        chains = torch.as_tensor(chains, dtype=torch.long)
        corners = torch.as_tensor(corners, dtype=torch.long)
        patches = torch.as_tensor(patches, dtype=torch.float64)
        box = patches.shape[2:]
        if len(torch.unique(chains)) != len(chains):
            raise EDNNError("one proposal per chain at a time")
        if any(b > s for b, s in zip(box, self.shape)):
            raise EDNNError(f"box {tuple(box)} is larger than the grid {self.shape}")
        # tiles whose window [k f - c, k f + f + c) meets [o, o + b): k_first = floor((o - c) / f) ...
        first = torch.div(corners - c, f, rounding_mode="floor")  # (K, ndim)
        last = torch.div(corners + torch.tensor(box) + c - 1, f, rounding_mode="floor")
        counts = [min(int((last - first)[:, d].max()) + 1, self.tile_counts[d]) for d in range(ndim)]
        pixel_index, tile_index, inside, offset = [], [], [], []
        for d in range(ndim):
            span = torch.arange(counts[d] * f + 2 * c)
            pixels = first[:, d, None] * f - c + span  # (K, W_d)
            pixel_index.append(pixels % self.shape[d])
            tile_index.append((first[:, d, None] + torch.arange(counts[d])) % self.tile_counts[d])
            rel = (pixels - corners[:, d, None]) % self.shape[d]
            inside.append(rel < box[d])
            offset.append(torch.where(rel < box[d], rel, 0))
        window = self._gather(self.grids, chains, pixel_index)  # (K, C, *W)
        replaced = self._gather(patches, torch.arange(len(patches)), offset)
        mask = _outer_and(inside)[:, None]
        window = torch.where(mask, replaced, window)
        with torch.no_grad():  # the window holds exactly the affected tiles with their context
            new = self.model.raw_from_padded(self._input(window), cache_sized=False).double().cpu()  # (K, *k, sums)
        index = self._box_index(chains, tile_index)
        sums_change = (new - self.outputs[index]).flatten(1, -2).sum(1)  # (K, sums)
        old_box = self.values(chains, corners, tuple(box))
        intensity_change = (patches - old_box).sum(dim=tuple(range(2, 2 + ndim)))
        delta = self.model.target.change(
            self.sums[chains],
            sums_change,
            self.intensity[chains],
            intensity_change,
            math.prod(self.shape),
            before=self.totals[chains],
        ).cpu()
        return Proposal(chains, corners, patches, delta, index, new, sums_change, intensity_change)

    def accept(self, proposal: Proposal, accepted: torch.Tensor | None = None) -> None:
        """Apply the proposal's changes where `accepted` (K,) bool is True (None: all)."""
        keep = torch.ones(len(proposal.chains), dtype=torch.bool) if accepted is None else accepted
        if not bool(keep.any()):
            return
        ndim = self.model.ndim
        chains = proposal.chains[keep]
        box = proposal.patches.shape[2:]
        index = [(proposal.corners[keep][:, d, None] + torch.arange(box[d])) % self.shape[d] for d in range(ndim)]
        target = self._box_index(chains, index)
        self.grids.permute(0, *range(2, 2 + ndim), 1)[target] = proposal.patches[keep].movedim(1, -1)
        tiles = tuple(i[keep] for i in proposal.tile_index)
        self.outputs[tiles] = proposal.new_outputs[keep]
        self.sums[chains] += proposal.sums_change[keep]
        self.intensity[chains] += proposal.intensity_change[keep]
        self.totals[chains] += proposal.delta[keep]

    def values(self, chains: torch.Tensor, corners: torch.Tensor, box: tuple[int, ...]) -> torch.Tensor:
        """Current pixels (K, C, *box), float64, of periodic boxes at `corners` (K, ndim) of grids `chains` (K,)."""
        return self._gather(
            self.grids,
            chains,
            [(corners[:, d, None] + torch.arange(box[d])) % self.shape[d] for d in range(self.model.ndim)],
        )

    def recompute(self) -> torch.Tensor:
        """Totals (B,) of the current grids by a full evaluation (for checks)."""
        with torch.no_grad():
            outputs = self.model.tile_outputs(self._input(self.grids)).double().cpu()
        return self.physical(outputs.flatten(1, -2).sum(1), self.grids.sum(dim=tuple(range(2, 2 + self.model.ndim))))

    def _input(self, grids: torch.Tensor) -> torch.Tensor:
        """Grids (…) float64 on the host as the network's input: its dtype, on its device."""
        return grids.to(device=self.model.device, dtype=self.dtype)

    # ---- index helpers ---------------------------------------------------------------

    def _box_index(self, chains: torch.Tensor, index: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        """Advanced index (K, *b) into (B, *S) for per-chain index vectors index[d] (K, b_d)."""
        ndim = len(index)
        shaped = [i.view(len(chains), *[-1 if e == d else 1 for e in range(ndim)]) for d, i in enumerate(index)]
        return (chains.view(-1, *[1] * ndim), *shaped)

    def _gather(self, grids: torch.Tensor, chains: torch.Tensor, index: list[torch.Tensor]) -> torch.Tensor:
        """Pixels (K, C, *w) of grids (B, C, *S) at per-chain index vectors index[d] (K, w_d)."""
        ndim = len(index)
        return grids.permute(0, *range(2, 2 + ndim), 1)[self._box_index(chains, index)].movedim(-1, 1)


def _outer_and(masks: list[torch.Tensor]) -> torch.Tensor:
    """(K, w_1, ..., w_d) bool: the outer AND of per-axis masks (K, w_d)."""
    ndim = len(masks)
    out = masks[0].view(len(masks[0]), -1, *[1] * (ndim - 1))
    for d in range(1, ndim):
        out = out & masks[d].view(len(masks[d]), *[1] * d, -1, *[1] * (ndim - 1 - d))
    return out
