"""Atoms sorted into spatial bins, in memory or read lazily from a file, a region at a time.

A planar structure in a rectangular periodic cell (Lx, Ly) is cut into bx × by bins of
(Lx/bx) × (Ly/by) Å. Atoms are stored sorted by bin, bin (i, j) at row-major index
i·by + j, with `offsets` (bx·by + 1,) so that bin k holds rows offsets[k]:offsets[k + 1].
A rectangle of the plane therefore costs one contiguous read per bin column it meets.
Reading a region checks that each atom read lies in the cell and in the bin it is stored
under (the file format that stores bins: `ednn.io.giant`).
"""

from __future__ import annotations

import math

import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError

DEFAULT_BIN = 20.0
"""Bin edge in Å aimed at when none is given."""
_COUNT_ROWS = 1 << 18  # atoms read at a time when counting elements


def bin_counts(lengths: tuple[float, float], bin_size: float = DEFAULT_BIN) -> tuple[int, int]:
    """Bins per axis for bins of about `bin_size` Å."""
    return tuple(max(1, int(length // bin_size)) for length in lengths)


def check_planar_cell(cell: np.ndarray) -> tuple[float, float]:
    off = [cell[0, 1], cell[0, 2], cell[1, 0], cell[1, 2], cell[2, 0], cell[2, 1]]
    if cell[0, 0] <= 0 or cell[1, 1] <= 0 or np.abs(off).max() > 1e-6 * max(cell[0, 0], cell[1, 1]):
        raise EDNNError("a giant structure needs a rectangular cell with a along x, b along y and c along z")
    return float(cell[0, 0]), float(cell[1, 1])


def bin_index(xy: np.ndarray, lengths: tuple[float, float], counts: tuple[int, int]) -> np.ndarray:
    ij = [
        np.minimum((np.mod(xy[:, a], lengths[a]) / lengths[a] * counts[a]).astype(np.int64), counts[a] - 1)
        for a in range(2)
    ]
    return ij[0] * counts[1] + ij[1]


def wrap_in_plane(positions: np.ndarray, lengths: tuple[float, float]) -> np.ndarray:
    """Positions (n, 3) Å with x, y wrapped into [0, Lx) × [0, Ly) (a copy)."""
    wrapped = np.array(positions, dtype=np.float64)
    xy = np.mod(wrapped[:, :2], lengths)
    wrapped[:, :2] = np.where(xy >= lengths, xy - lengths, xy)  # mod rounds a tiny negative up to L
    return wrapped


class AtomBins:
    """Binned atoms; `positions`, `numbers` may be numpy arrays or h5py datasets (sliced lazily)."""

    def __init__(
        self,
        positions,
        numbers,
        offsets: np.ndarray,
        cell: np.ndarray,
        counts: tuple[int, int],
        source: str = "binned atoms",
    ):
        self.positions, self.numbers, self.source = positions, numbers, source
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.cell = np.asarray(cell, dtype=np.float64)
        if self.cell.shape != (3, 3):
            raise EDNNError(f"{source}: the cell has shape {self.cell.shape}, expected (3, 3)")
        self.lengths = check_planar_cell(self.cell)
        self.counts = tuple(int(c) for c in counts)
        if len(self.counts) != 2 or min(self.counts) < 1:
            raise EDNNError(f"{source}: bins {self.counts} should be two positive counts")
        if self.offsets.shape != (self.counts[0] * self.counts[1] + 1,):
            raise EDNNError(
                f"{source}: bin offsets have shape {self.offsets.shape}, expected "
                f"({self.counts[0]} × {self.counts[1]} + 1,)"
            )
        if self.offsets[0] != 0 or np.any(np.diff(self.offsets) < 0):
            raise EDNNError(f"{source}: bin offsets must start at 0 and never decrease")
        if tuple(positions.shape) != (self.offsets[-1], 3) or tuple(numbers.shape) != (self.offsets[-1],):
            raise EDNNError(
                f"{source}: bin offsets end at {self.offsets[-1]} atoms, but positions have shape "
                f"{tuple(positions.shape)} and numbers {tuple(numbers.shape)}"
            )

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @classmethod
    def from_atoms(cls, atoms: Atoms, bin_size: float = DEFAULT_BIN) -> AtomBins:
        """Bin an in-memory structure."""
        lengths = check_planar_cell(atoms.cell.array)
        counts = bin_counts(lengths, bin_size)
        positions = wrap_in_plane(atoms.positions, lengths)
        index = bin_index(positions, lengths, counts)
        order = np.argsort(index, kind="stable")
        offsets = np.searchsorted(index[order], np.arange(counts[0] * counts[1] + 1))
        return cls(positions[order], atoms.numbers[order], offsets, atoms.cell.array, counts)

    def region(self, low: tuple[float, float], high: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Positions (n, 3) and numbers (n,) of every atom in bins meeting [low, high) Å (periodic;
        the rectangle may reach outside the cell). Each atom appears once."""
        ranges = []
        for a in range(2):
            width = self.lengths[a] / self.counts[a]
            first, last = math.floor(low[a] / width), math.floor((high[a] - 1e-12) / width)
            ranges.append(sorted({k % self.counts[a] for k in range(first, min(last, first + self.counts[a] - 1) + 1)}))
        pieces_xyz, pieces_z, spans = [], [], []
        for i in ranges[0]:
            for j0, j1 in _runs(ranges[1]):
                first_bin, last_bin = i * self.counts[1] + j0, i * self.counts[1] + j1
                start, stop = self.offsets[first_bin], self.offsets[last_bin + 1]
                if stop > start:
                    pieces_xyz.append(self._read(self.positions, start, stop))
                    pieces_z.append(self._read(self.numbers, start, stop))
                    spans.append((first_bin, last_bin))
        if not pieces_xyz:
            return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
        positions = np.concatenate(pieces_xyz)
        self._check_stored_bins(positions, spans)
        return positions, np.concatenate(pieces_z).astype(np.int64)

    def _read(self, rows, start: int, stop: int) -> np.ndarray:
        """rows[start:stop] as an array; a stored file that cannot give them (a damaged chunk, whose
        checksum fails, or a truncated file) is an EDNNError naming the file and the atoms."""
        try:
            return np.asarray(rows[start:stop])
        except OSError as exc:
            raise EDNNError(
                f"{self.source} is damaged: atoms {start}–{stop - 1} cannot be read ({str(exc).splitlines()[0]})"
            ) from None

    def _check_stored_bins(self, positions: np.ndarray, spans: list[tuple[int, int]]) -> None:
        """Raise unless every atom read (rows of the bins first…last of each span, in order) lies
        inside the cell and in the bin it was stored under."""
        stored = np.concatenate([np.repeat(np.arange(a, b + 1), np.diff(self.offsets[a : b + 2])) for a, b in spans])
        xy = positions[:, :2]
        inside = np.all((xy >= 0) & (xy <= np.array(self.lengths)), axis=1)  # NaN fails too
        bad = ~inside
        bad[inside] = bin_index(xy[inside], self.lengths, self.counts) != stored[inside]
        if bad.any():
            k = int(np.argmax(bad))
            where = (
                f"in bin {int(bin_index(xy[k : k + 1], self.lengths, self.counts)[0])}"
                if inside[k]
                else "outside the cell"
            )
            raise EDNNError(
                f"{self.source}: an atom stored in bin {int(stored[k])} lies at x, y = "
                f"{xy[k, 0]:.6g}, {xy[k, 1]:.6g} Å, {where}: the file is not sorted into its bins"
            )

    def element_counts(self) -> dict[int, int]:
        """Atoms of each element, read in chunks."""
        counts: dict[int, int] = {}
        for start in range(0, len(self), _COUNT_ROWS):
            values, found = np.unique(self._read(self.numbers, start, start + _COUNT_ROWS), return_counts=True)
            for z, n in zip(values.tolist(), found.tolist()):
                counts[z] = counts.get(z, 0) + n
        return counts


def _runs(sorted_values: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs [(first, last), ...] of sorted integers."""
    runs: list[tuple[int, int]] = []
    for v in sorted_values:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return runs
