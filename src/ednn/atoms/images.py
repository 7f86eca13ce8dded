"""How a model sees atoms: pixel size, Gaussian width and channels, and the checks that
map a structure onto that grid (or say clearly why it cannot)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from ase import Atoms
from ase.data import chemical_symbols

from ednn.core.errors import EDNNError

#: Relative tolerance on cell lengths being whole numbers of focus regions.
FIT_TOLERANCE = 1e-6
#: Å: the most a sheet's atoms may spread along z for a model trained on flat sheets (and for
#: models saved before the limit was recorded). Images are planar (z is not rendered), so a
#: buckled sheet or a bilayer would get a flat sheet's energy.
PLANAR_TOLERANCE = 0.1
#: Å: atoms closer than this in the plane are refused as duplicates or overlaps.
MIN_DISTANCE = 0.5


def _symbols(numbers: Sequence[int]) -> str:
    return ", ".join(chemical_symbols[int(z)] for z in numbers)


def unknown_elements_error(unknown: Sequence[int], known: Sequence[int]) -> EDNNError:
    """The one-line error for atomic numbers `unknown` that a model trained on `known` lacks."""
    noun, verb = ("element", "is") if len(unknown) == 1 else ("elements", "are")
    return EDNNError(f"{noun} {_symbols(unknown)} {verb} unknown to this model, which was trained on {_symbols(known)}")


def z_spread(z: np.ndarray, height: float | None = None) -> float:
    """Å: the thinnest slab along z that holds every z (Å), periodic over `height` if given."""
    spread = float(np.ptp(z)) if len(z) else 0.0
    if not height or height <= 0 or spread < height / 2:
        return spread  # a slab thinner than half the cell cannot be thinner across the boundary
    z = np.sort(z % height)
    gaps = np.diff(np.append(z, z[0] + height))
    return float(height - gaps.max())


def _z_spread(atoms: Atoms) -> float:
    return z_spread(atoms.positions[:, 2], float(atoms.cell[2, 2]) if atoms.pbc[2] else None)


def z_spread_limit(structures: Sequence[Atoms]) -> float:
    """Å: the z spread a model trained on `structures` accepts: PLANAR_TOLERANCE, or 1.5 × the
    largest spread among them if that is more (rippled sheets from 3D MD)."""
    return max(PLANAR_TOLERANCE, 1.5 * max(_z_spread(s) for s in structures))


def _check_no_overlaps(atoms: Atoms, lengths: np.ndarray) -> None:
    """Refuse two atoms closer than MIN_DISTANCE in the periodic plane (nearest neighbours
    only: linear in memory however many atoms overlap)."""
    from scipy.spatial import cKDTree

    from ednn.atoms.bins import wrap_in_plane

    xy = wrap_in_plane(atoms.positions, tuple(lengths))[:, :2]
    if len(xy) < 2:
        return
    distance, neighbour = cKDTree(xy, boxsize=lengths).query(xy, k=2, distance_upper_bound=MIN_DISTANCE)
    close = np.flatnonzero(distance[:, 1] < MIN_DISTANCE)
    if len(close):
        i = close[0]
        raise EDNNError(
            f"atoms {i} and {neighbour[i, 1]} are {distance[i, 1]:.3f} Å apart in the plane (closer "
            f"than {MIN_DISTANCE} Å: duplicated or overlapping atoms?)"
        )


@dataclass(frozen=True)
class AtomImaging:
    """pixel_size (Δx, Δy) in Å, Gaussian width gamma in Å, the elements (atomic numbers)
    the model knows, per_element: one channel per element (True) or one channel weighted by
    Z (False, the paper's images), and max_z_spread: how far (Å) a structure's atoms may
    spread along z (`z_spread_limit` of the training structures)."""

    pixel_size: tuple[float, float]
    elements: tuple[int, ...]
    gamma: float = 0.2
    per_element: bool = True
    max_z_spread: float = PLANAR_TOLERANCE

    @classmethod
    def from_dict(cls, config: dict) -> AtomImaging:
        return cls(
            pixel_size=tuple(config["pixel_size"]),
            elements=tuple(config["elements"]),
            gamma=float(config["gamma"]),
            per_element=bool(config["per_element"]),
            max_z_spread=float(config.get("max_z_spread", PLANAR_TOLERANCE)),
        )

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @property
    def channels(self) -> int:
        return len(self.elements) if self.per_element else 1

    def grid_shape(self, atoms: Atoms, focus: int) -> tuple[int, int]:
        """Pixels (nx, ny) of the structure's in-plane cell, after checking that the cell is
        rectangular, periodic, a whole number of focus regions, and its atoms usable: finite,
        known elements, a sheet (z within max_z_spread), none closer than MIN_DISTANCE."""
        if len(atoms) == 0:
            raise EDNNError("structure has no atoms")
        if not np.isfinite(atoms.positions).all():
            raise EDNNError("structure has NaN or infinite atom positions")
        unknown = sorted(set(atoms.numbers.tolist()) - set(self.elements))
        if unknown:
            raise unknown_elements_error(unknown, self.elements)
        if not atoms.pbc[:2].all():
            raise EDNNError("structure must be periodic along x and y (pbc)")
        cell = atoms.cell.array
        lengths = np.array([cell[0, 0], cell[1, 1]])
        tolerance = FIT_TOLERANCE * max(abs(lengths).max(), 1.0)
        if (lengths <= 0).any() or (np.abs([cell[0, 1], cell[0, 2], cell[1, 0], cell[1, 2]]) > tolerance).any():
            raise EDNNError(
                "the in-plane cell must be rectangular, a along x and b along y "
                f"(got a = {np.round(cell[0], 4).tolist()}, b = {np.round(cell[1], 4).tolist()})"
            )
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
                f"{nearest[0]:.6f} × {nearest[1]:.6f} Å ({mismatch:.1e} relative away; tolerance {FIT_TOLERANCE:.0e})"
            )
        self.check_z_spread(_z_spread(atoms))
        _check_no_overlaps(atoms, lengths)
        return int(whole[0]) * focus, int(whole[1]) * focus

    def check_z_spread(self, spread: float, where: str = "") -> None:
        """Refuse atoms spread (Å) along z further than the training structures were."""
        if spread > self.max_z_spread:
            raise EDNNError(
                f"{where}the atoms spread {spread:.2f} Å along z: this model sees sheets in the xy "
                f"plane, z within {self.max_z_spread:.2f} Å as its training structures (not buckled "
                "or layered)"
            )

    def image(
        self, atoms: Atoms, focus: int, dtype: torch.dtype = torch.float32, shape: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """The structure's image (nx, ny, C); `shape`: its grid_shape if already checked."""
        from ednn.atoms.render import render

        shape = shape or self.grid_shape(atoms, focus)
        lengths = (float(atoms.cell[0, 0]), float(atoms.cell[1, 1]))
        return render(
            atoms.positions,
            atoms.numbers,
            lengths,
            shape,
            gamma=self.gamma,
            elements=self.elements if self.per_element else None,
            dtype=dtype,
        )
