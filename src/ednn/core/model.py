"""The EDNN: one shared tile network applied to every tile, contributions summed.

Targets live in scaled units inside the network; `model.target` (`ednn.core.target.Target`)
turns summed tile terms into physical totals (scale, extensive offsets, readout) — the one
place that formula lives. Training works on the scaled sum (`forward`); users call `predict`,
which takes numpy grids of any valid size and returns float64 totals. This class knows grids
only; `ednn.atoms.model.AtomEDNN` adds images of atoms. A model lives on one device (CPU by
default): `model.to(device)` moves it, `predict` takes and returns numpy arrays on the host.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ednn.core.errors import EDNNError
from ednn.core.evaluation import Evaluation, evaluation_of
from ednn.core.target import Target
from ednn.core.tiling import Padding, check_geometry, check_spatial_shape, pad, tile

#: Tile pixels (tiles × channels × t^ndim) evaluated at once by `predict`; bounds memory.
PREDICT_CHUNK_PIXELS = 2**19


def grids_only(consequence: str) -> EDNNError:
    """The one-line error for a model of grids asked for what only a model of atoms does."""
    return EDNNError(f"this model was trained on grids, not atoms: {consequence}")


class EDNN(nn.Module):
    """Extensive deep neural network around any tile network.

    net: maps tiles (B, C, *t) with t = focus + 2·context to (B, outputs) — with a readout to the
        readout's raw values per site (per tile, or per density cell of a density network).
    ndim: number of spatial dimensions; channels: C; padding: 'periodic' or 'zeros'.
    scale, offset_per_site, readout: the physical target (`Target`); `targets`: their names;
    `info`: what the model was trained on (JSON-able).
    """

    def __init__(
        self,
        net: nn.Module,
        focus: int,
        context: int,
        *,
        ndim: int = 2,
        channels: int = 1,
        outputs: int = 1,
        padding: Padding = "periodic",
        scale: Sequence[float] | float = 1.0,
        offset_per_site: Sequence[float] | float = 0.0,
        targets: Sequence[str] | None = None,
        info: dict[str, Any] | None = None,
        readout: str | None = None,
    ):
        super().__init__()
        check_geometry(focus, context)
        if padding not in ("periodic", "zeros"):
            raise EDNNError(f"padding must be 'periodic' or 'zeros', got {padding!r}")
        self.net = net
        self.focus, self.context, self.ndim = int(focus), int(context), int(ndim)
        self.channels, self.outputs, self.padding = int(channels), int(outputs), padding
        self.targets = (
            list(targets)
            if targets is not None
            else (["energy"] if outputs == 1 else [f"y{i}" for i in range(outputs)])
        )
        if len(self.targets) != self.outputs:
            raise EDNNError(f"{len(self.targets)} target names for {self.outputs} outputs")
        self.info: dict[str, Any] = dict(info or {})
        #: Fingerprints of the examples trained and validated on: {'kind', 'train', 'val'} (uint64
        #: arrays, see `ednn.io.fingerprints`); empty when unknown. Kept out of `info`: they are long.
        self.training_fingerprints: dict[str, Any] = {}
        self.target = Target(self.outputs, self.channels, scale=scale, offset_per_site=offset_per_site, readout=readout)

    @property
    def tile(self) -> int:
        """Tile edge f + 2c in pixels."""
        return self.focus + 2 * self.context

    @property
    def evaluation(self) -> Evaluation:
        """How the tile network is evaluated over a grid (`ednn.core.evaluation`)."""
        return evaluation_of(self.net)

    @property
    def device(self) -> torch.device:
        """The device the model's parameters and buffers live on."""
        return self.target.scale.device

    @property
    def dtype(self) -> torch.dtype:
        """The tile network's floating-point type (float32 as trained)."""
        return next((p.dtype for p in self.net.parameters()), torch.float32)

    # ---- tensor path (channel-first, float) -------------------------------------------

    def raw_from_padded(self, padded: torch.Tensor, cache_sized: bool = True) -> torch.Tensor:
        """Scaled tile terms (N, *n, sums) of an already padded grid (N, C, *P): the outputs, or
        with a readout its summable terms (`Target.total` makes totals of their sums).

        `cache_sized` feeds tile copies to the network in cache-sized calls (False: in one call,
        faster for a few dozen tiles)."""
        return self.evaluation.padded(self.net, self.target, padded, self.focus, self.context, cache_sized)

    def tile_terms(self, tiles: torch.Tensor) -> torch.Tensor:
        """Scaled terms (B, sums) of explicit tiles (B, C, *t)."""
        return self.evaluation.tiles(self.net, self.target, tiles)

    def tiles(self, x: torch.Tensor) -> torch.Tensor:
        """Tiles (N, *n, C, *t) of a grid x (N, C, *spatial), as a strided view."""
        return tile(x, self.focus, self.context, self.padding)

    def tile_outputs(self, x: torch.Tensor, cache_sized: bool = True) -> torch.Tensor:
        """Scaled tile terms (N, *n, sums) of a grid x (N, C, *spatial); `cache_sized`: see `raw_from_padded`."""
        check_spatial_shape(x.shape[2:], self.focus, self.context, self.padding)
        return self.evaluation.grid(self.net, self.target, x, self.focus, self.context, self.padding, cache_sized)

    def forward(self, x: torch.Tensor, cache_sized: bool = True) -> torch.Tensor:
        """Scaled totals (N, outputs) of a grid x (N, C, *spatial); the training target. Training calls it
        with cache_sized=False: under autograd one network call per batch ran 2.3× faster (3-D Ising)."""
        return self.target.combine(self.tile_outputs(x, cache_sized).flatten(1, self.ndim).sum(1))

    #: None: the model takes grids only. A subclass that renders its input from something else
    #: (`ednn.atoms.model.AtomEDNN`: atoms) says here how, and offers `predict_atoms`, `calculator`.
    imaging = None

    def predict_atoms(self, structures: Any, placements: int = 1) -> np.ndarray:
        """A grid model has no energy of atoms: the one-line error `grids_only` gives."""
        raise grids_only("use predict() with grids")

    def calculator(self, *args: Any, **kwargs: Any) -> Any:
        """A grid model has no energy of atoms, and no forces: the one-line error `grids_only` gives."""
        raise grids_only("it has no energy of atoms, and no forces")

    def describe(self) -> dict[str, Any]:
        """What fixes the model's outputs besides its tensors (for `identity`)."""
        # "imaging" is part of every description so that identities made before AtomEDNN existed stay equal
        return {"net": type(self.net).__qualname__, "focus": self.focus, "context": self.context, "imaging": None}

    def identity(self) -> str:
        """'ednn model <12 hex digits>': a SHA-256 of `describe()` and the parameters and buffers
        (names, dtypes, shapes, bytes). Equal for the same model however it was loaded, copied,
        moved or renamed; another model differs."""
        digest = hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode())
        for name, tensor in sorted(self.state_dict().items()):
            name = name.removeprefix("target.")  # the names before `Target` held them: identities stay
            tensor = tensor.detach().cpu().contiguous()
            digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
        return f"ednn model {digest.hexdigest()[:12]}"

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
            given = f"{x.ndim - 1}-D grids" if self.channels == 1 else f"{x.ndim - 2}-D grids of {x.shape[-1]} channels"
            raise EDNNError(
                f"input has shape {x.shape}; this {self.ndim}-D model with {self.channels} "
                f"channel{'s' * (self.channels > 1)} expects {expect}, not {given}"
            )
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
            raise EDNNError(
                f"input holds values ({', '.join(f'{v:g}' for v in unseen[:4])}{', …' * (len(unseen) > 4)}) "
                f"this model never saw: its training grids held only {', '.join(f'{v:g}' for v in known)}"
            )
        return x

    def _channels_first(self, x: np.ndarray) -> torch.Tensor:
        """A float tensor (N, C, *spatial) on the model's device of a host array (N, *spatial, C)."""
        return torch.as_tensor(np.ascontiguousarray(x), dtype=self.dtype).movedim(-1, 1).to(self.device)

    def _scaled_tile_chunks(self, x: np.ndarray) -> Iterator[tuple[slice, slice, np.ndarray]]:
        """Scaled tile terms of x (N, *spatial, C), chunk by chunk, as float64 on the host.

        Yields (examples, first-axis tile rows, terms of shape (examples, rows, *n[1:], sums)); a
        chunk holds at most PREDICT_CHUNK_PIXELS tile pixels (focus pixels for a network evaluated
        as a density, which copies no tiles), so a single large grid is cut into bands of tile rows.
        """
        counts = [s // self.focus for s in x.shape[1:-1]]
        tiles_per_example = math.prod(counts)
        window = self.evaluation.window(self.focus, self.context)
        budget = max(1, PREDICT_CHUNK_PIXELS // (self.channels * window**self.ndim))
        with torch.inference_mode():
            if tiles_per_example <= budget:
                step = budget // tiles_per_example
                for i in range(0, x.shape[0], step):
                    values = self.tile_outputs(self._channels_first(x[i : i + step]))
                    yield slice(i, i + step), slice(None), values.double().cpu().numpy()
                return
            rows = max(1, budget // (tiles_per_example // counts[0]))
            f, c = self.focus, self.context
            for i in range(x.shape[0]):
                padded = pad(self._channels_first(x[i : i + 1]), self.context, self.padding)
                for r in range(0, counts[0], rows):
                    band = padded[:, :, r * f : (r + rows) * f + 2 * c]
                    yield slice(i, i + 1), slice(r, r + rows), self.raw_from_padded(band).double().cpu().numpy()

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Physical contribution of each tile, float64 (N, *n) or (N, *n, outputs).

        The map of where the extensive quantity lives; it sums to `predict(x)`. With a
        readout, each tile's share of it (`ChargeEquilibration.shares`).
        """
        self.eval()
        x = self.as_grid(x)
        terms = np.empty((x.shape[0], *[s // self.focus for s in x.shape[1:-1]], self.target.sums))
        for examples, rows, values in self._scaled_tile_chunks(x):
            terms[examples, rows] = values
        focus_shape = [d for s in x.shape[1:-1] for d in (s // self.focus, self.focus)]
        region_intensity = x.reshape(x.shape[0], *focus_shape, self.channels).sum(
            axis=tuple(range(2, 2 * self.ndim + 1, 2)), dtype=np.float64
        )
        per_tile = (
            self.target.tile_contributions(
                torch.from_numpy(terms), self.focus**self.ndim, torch.from_numpy(region_intensity)
            )
            .cpu()
            .numpy()
        )
        return per_tile[..., 0] if self.outputs == 1 else per_tile

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Totals of x (N, *spatial) or (N, *spatial, C): float64 (N,) or (N, outputs),
        in the unit of the training target.

        Any spatial size that is a whole number of focus regions works; tile outputs
        are summed in float64. Working memory: a padded copy of at most one large example
        on the model's device, plus PREDICT_CHUNK_PIXELS tile pixels at a time (focus pixels
        for a network evaluated as a density, which copies no tiles).
        """
        self.eval()
        x = self.as_grid(x)
        sums = np.zeros((x.shape[0], self.target.sums))
        for examples, _, values in self._scaled_tile_chunks(x):
            sums[examples] += values.reshape(len(values), -1, self.target.sums).sum(1)
        n_sites = math.prod(x.shape[1:-1])
        intensity = torch.from_numpy(x.sum(axis=tuple(range(1, self.ndim + 1)), dtype=np.float64))
        totals = self.target.total(torch.from_numpy(sums), n_sites, intensity).cpu().numpy()
        return totals[:, 0] if self.outputs == 1 else totals
