"""An EDNN of atoms: the core `EDNN` with an imaging (pixel size, Gaussian width, elements).

Structures (ase.Atoms) are rendered as images (paper eq. 2, `ednn.atoms.render`) at the
model's pixel size and evaluated as grids; structures too large for one image are evaluated
block by block (`ednn.atoms.blocks`). Forces come through the ASE calculator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from ase import Atoms
from torch import nn

from ednn.atoms.images import AtomImaging
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN

#: Structures whose image has more pixels than this are rendered and evaluated block by block.
STREAM_ABOVE_PIXELS = 2**22


class AtomEDNN(EDNN):
    """An `EDNN` of 2-D atom images; `imaging` (an `AtomImaging` or its dict) says how it sees
    atoms. Other arguments as `EDNN`'s; `channels` follows from the imaging."""

    def __init__(
        self,
        net: nn.Module,
        focus: int,
        context: int,
        *,
        imaging: AtomImaging | dict,
        ndim: int = 2,
        channels: int | None = None,
        **options: Any,
    ):
        imaging = imaging if isinstance(imaging, AtomImaging) else AtomImaging.from_dict(imaging)
        channels = imaging.channels if channels is None else channels
        if imaging.channels != channels or ndim != 2:
            raise EDNNError(
                f"atom imaging with {imaging.channels} channels needs a 2-D model with "
                f"as many channels, got {ndim}-D with {channels}"
            )
        super().__init__(net, focus, context, ndim=ndim, channels=channels, **options)
        self.imaging = imaging

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "imaging": self.imaging.to_dict()}

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """`EDNN.contributions` of images; for a structure pass its image,
        `model.imaging.image(atoms, model.focus)[None]`."""
        if isinstance(x, Atoms) or (isinstance(x, (list, tuple)) and x and isinstance(x[0], Atoms)):
            raise EDNNError(
                "contributions takes grids; for a structure pass its image, "
                "model.imaging.image(atoms, model.focus)[None]"
            )
        return super().contributions(x)

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
            return np.mean(
                [
                    self.predict_atoms([shifted(s, shift) for s in structures])
                    for shift in placement_shifts(placements) * region
                ],
                axis=0,
            )
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

    def calculator(self, dtype: torch.dtype | str = torch.float32, device: torch.device | str | None = None):
        """An ASE calculator (energy in eV, forces in eV/Å) of this model, its network in `dtype`
        (float32 as trained, or float64 for forces that match finite differences) on `device`
        (default: the model's); see `ednn.atoms.calculator.EDNNCalculator`."""
        from ednn.atoms.calculator import EDNNCalculator

        return EDNNCalculator(self, dtype=dtype, device=device)


def placement_shifts(count: int) -> np.ndarray:
    """count in-plane shifts (count, 2) as fractions of a focus region, spread evenly (a
    Kronecker sequence: k/count along x, the golden ratio's multiples along y); the first is 0."""
    k = np.arange(count)
    return np.column_stack([k / count, np.mod(k * (math.sqrt(5) - 1) / 2, 1.0)])


def shifted(atoms: Atoms, shift: np.ndarray) -> Atoms:
    """A copy of `atoms` moved in plane by `shift` (2,) Å."""
    moved = atoms.copy()
    moved.positions[:, :2] += shift
    return moved
