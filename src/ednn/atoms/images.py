"""How a model sees atoms: pixel size, Gaussian width and channels, and the checks that
map a structure onto that grid (or say clearly why it cannot)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
from ase import Atoms
from ase.data import chemical_symbols

from ednn.errors import EDNNError

#: Relative tolerance on cell lengths being whole numbers of focus regions.
FIT_TOLERANCE = 1e-6


def _symbols(numbers: Sequence[int]) -> str:
    return ", ".join(chemical_symbols[int(z)] for z in numbers)


@dataclass(frozen=True)
class AtomImaging:
    """pixel_size (Δx, Δy) in Å, Gaussian width gamma in Å, the elements (atomic numbers)
    the model knows, and per_element: one channel per element (True) or one channel
    weighted by Z (False, the paper's images)."""

    pixel_size: tuple[float, float]
    elements: tuple[int, ...]
    gamma: float = 0.2
    per_element: bool = True

    @classmethod
    def from_dict(cls, config: dict) -> "AtomImaging":
        return cls(pixel_size=tuple(config["pixel_size"]), elements=tuple(config["elements"]),
                   gamma=float(config["gamma"]), per_element=bool(config["per_element"]))

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def channels(self) -> int:
        return len(self.elements) if self.per_element else 1

    def grid_shape(self, atoms: Atoms, focus: int) -> tuple[int, int]:
        """Pixels (nx, ny) of the structure's in-plane cell, after checking that the cell is
        rectangular, periodic, a whole number of focus regions, and its atoms usable."""
        if len(atoms) == 0:
            raise EDNNError("structure has no atoms")
        if not np.isfinite(atoms.positions).all():
            raise EDNNError("structure has NaN or infinite atom positions")
        unknown = sorted(set(atoms.numbers.tolist()) - set(self.elements))
        if unknown:
            raise EDNNError(f"element {_symbols(unknown)} is unknown to this model, which was trained on "
                            f"{_symbols(self.elements)}")
        if not atoms.pbc[:2].all():
            raise EDNNError("structure must be periodic along x and y (pbc)")
        cell = atoms.cell.array
        lengths = np.array([cell[0, 0], cell[1, 1]])
        tolerance = FIT_TOLERANCE * max(abs(lengths).max(), 1.0)
        if (lengths <= 0).any() or (np.abs([cell[0, 1], cell[0, 2], cell[1, 0], cell[1, 2]]) > tolerance).any():
            raise EDNNError("the in-plane cell must be rectangular, a along x and b along y "
                            f"(got a = {np.round(cell[0], 4).tolist()}, b = {np.round(cell[1], 4).tolist()})")
        if (np.abs(cell[2, :2]) > tolerance).any():
            raise EDNNError(f"the cell's c vector must be along z (got c = {np.round(cell[2], 4).tolist()})")
        unit = np.asarray(self.pixel_size) * focus
        regions = lengths / unit
        whole = np.maximum(np.round(regions), 1)
        if (np.abs(regions - whole) > FIT_TOLERANCE * whole).any():
            nearest = whole * unit
            mismatch = np.abs(lengths - nearest).max() / nearest[np.abs(lengths - nearest).argmax()]
            raise EDNNError(
                f"cell {lengths[0]:.6f} × {lengths[1]:.6f} Å does not fit this model's grid: lengths must be whole "
                f"numbers of focus regions of {unit[0]:.6f} × {unit[1]:.6f} Å ({focus} pixels of "
                f"{self.pixel_size[0]:.6f} × {self.pixel_size[1]:.6f} Å); nearest valid cell "
                f"{nearest[0]:.6f} × {nearest[1]:.6f} Å ({mismatch:.1e} relative away; tolerance {FIT_TOLERANCE:.0e})")
        return int(whole[0]) * focus, int(whole[1]) * focus

    def image(self, atoms: Atoms, focus: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The structure's image (nx, ny, C)."""
        from ednn.atoms.render import render

        shape = self.grid_shape(atoms, focus)
        lengths = (float(atoms.cell[0, 0]), float(atoms.cell[1, 1]))
        return render(atoms.positions, atoms.numbers, lengths, shape, gamma=self.gamma,
                      elements=self.elements if self.per_element else None, dtype=dtype)
