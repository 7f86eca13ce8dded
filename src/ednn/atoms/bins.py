"""Atoms sorted into spatial bins, in memory or in a chunked HDF5 file, read a region at a time.

A planar structure in a rectangular periodic cell (Lx, Ly) is cut into bx × by bins of
(Lx/bx) × (Ly/by) Å. Atoms are stored sorted by bin, bin (i, j) at row-major index
i·by + j, with `offsets` (bx·by + 1,) so that bin k holds rows offsets[k]:offsets[k + 1].
A rectangle of the plane therefore costs one contiguous read per bin column it meets.

HDF5 layout (`format` = "ednn-giant-v1"): `positions` (N, 3) float64 and `numbers` (N,)
uint8, in uncompressed chunks of 16 384 rows (gzip made reading the atoms near a block
cost as much as evaluating it); `offsets` (bx·by + 1,) int64; `cell` (3, 3) in Å. Files are
written bin column by bin column (`GiantWriter`), so a structure larger than memory never
has to exist in memory at once; a file is complete only when `complete` is set. Stored x, y
lie in [0, Lx) × [0, Ly) (writers wrap them). Opening checks `offsets` against the datasets;
reading a region checks that each atom read lies in the cell and in the bin it is stored under.
"""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError

FORMAT = "ednn-giant-v1"
DEFAULT_BIN = 20.0
"""Bin edge in Å aimed at when none is given."""
_CHUNK_ROWS = 1 << 14  # small, uncompressed chunks: a block reads a few bins of many columns


def bin_counts(lengths: tuple[float, float], bin_size: float = DEFAULT_BIN) -> tuple[int, int]:
    """Bins per axis for bins of about `bin_size` Å."""
    return tuple(max(1, int(length // bin_size)) for length in lengths)


def _check_planar_cell(cell: np.ndarray) -> tuple[float, float]:
    off = [cell[0, 1], cell[0, 2], cell[1, 0], cell[1, 2], cell[2, 0], cell[2, 1]]
    if cell[0, 0] <= 0 or cell[1, 1] <= 0 or np.abs(off).max() > 1e-6 * max(cell[0, 0], cell[1, 1]):
        raise EDNNError("a giant structure needs a rectangular cell with a along x, b along y and c along z")
    return float(cell[0, 0]), float(cell[1, 1])


def _bin_index(xy: np.ndarray, lengths: tuple[float, float], counts: tuple[int, int]) -> np.ndarray:
    ij = [np.minimum((np.mod(xy[:, a], lengths[a]) / lengths[a] * counts[a]).astype(np.int64), counts[a] - 1)
          for a in range(2)]
    return ij[0] * counts[1] + ij[1]


def wrap_in_plane(positions: np.ndarray, lengths: tuple[float, float]) -> np.ndarray:
    """Positions (n, 3) Å with x, y wrapped into [0, Lx) × [0, Ly) (a copy)."""
    wrapped = np.array(positions, dtype=np.float64)
    xy = np.mod(wrapped[:, :2], lengths)
    wrapped[:, :2] = np.where(xy >= lengths, xy - lengths, xy)  # mod rounds a tiny negative up to L
    return wrapped


class AtomBins:
    """Binned atoms; `positions`, `numbers` may be numpy arrays or h5py datasets (sliced lazily)."""

    def __init__(self, positions, numbers, offsets: np.ndarray, cell: np.ndarray, counts: tuple[int, int],
                 source: str = "binned atoms"):
        self.positions, self.numbers, self.source = positions, numbers, source
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.cell = np.asarray(cell, dtype=np.float64)
        if self.cell.shape != (3, 3):
            raise EDNNError(f"{source}: the cell has shape {self.cell.shape}, expected (3, 3)")
        self.lengths = _check_planar_cell(self.cell)
        self.counts = tuple(int(c) for c in counts)
        if len(self.counts) != 2 or min(self.counts) < 1:
            raise EDNNError(f"{source}: bins {self.counts} should be two positive counts")
        if self.offsets.shape != (self.counts[0] * self.counts[1] + 1,):
            raise EDNNError(f"{source}: bin offsets have shape {self.offsets.shape}, expected "
                            f"({self.counts[0]} × {self.counts[1]} + 1,)")
        if self.offsets[0] != 0 or np.any(np.diff(self.offsets) < 0):
            raise EDNNError(f"{source}: bin offsets must start at 0 and never decrease")
        if tuple(positions.shape) != (self.offsets[-1], 3) or tuple(numbers.shape) != (self.offsets[-1],):
            raise EDNNError(f"{source}: bin offsets end at {self.offsets[-1]} atoms, but positions have shape "
                            f"{tuple(positions.shape)} and numbers {tuple(numbers.shape)}")

    def __len__(self) -> int:
        return int(self.offsets[-1])

    @classmethod
    def from_atoms(cls, atoms: Atoms, bin_size: float = DEFAULT_BIN) -> "AtomBins":
        """Bin an in-memory structure."""
        lengths = _check_planar_cell(atoms.cell.array)
        counts = bin_counts(lengths, bin_size)
        positions = wrap_in_plane(atoms.positions, lengths)
        index = _bin_index(positions, lengths, counts)
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
                    pieces_xyz.append(np.asarray(self.positions[start:stop]))
                    pieces_z.append(np.asarray(self.numbers[start:stop]))
                    spans.append((first_bin, last_bin))
        if not pieces_xyz:
            return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
        positions = np.concatenate(pieces_xyz)
        self._check_stored_bins(positions, spans)
        return positions, np.concatenate(pieces_z).astype(np.int64)

    def _check_stored_bins(self, positions: np.ndarray, spans: list[tuple[int, int]]) -> None:
        """Raise unless every atom read (rows of the bins first…last of each span, in order) lies
        inside the cell and in the bin it was stored under."""
        stored = np.concatenate([np.repeat(np.arange(a, b + 1), np.diff(self.offsets[a:b + 2])) for a, b in spans])
        xy = positions[:, :2]
        inside = np.all((xy >= 0) & (xy <= np.array(self.lengths)), axis=1)  # NaN fails too
        bad = ~inside
        bad[inside] = _bin_index(xy[inside], self.lengths, self.counts) != stored[inside]
        if bad.any():
            k = int(np.argmax(bad))
            where = (f"in bin {int(_bin_index(xy[k:k + 1], self.lengths, self.counts)[0])}" if inside[k]
                     else "outside the cell")
            raise EDNNError(f"{self.source}: an atom stored in bin {int(stored[k])} lies at x, y = "
                            f"{xy[k, 0]:.6g}, {xy[k, 1]:.6g} Å, {where}: the file is not sorted into its bins")

    def element_counts(self) -> dict[int, int]:
        """Atoms of each element, read in chunks."""
        counts: dict[int, int] = {}
        for start in range(0, len(self), _CHUNK_ROWS * 16):
            values, found = np.unique(np.asarray(self.numbers[start:start + _CHUNK_ROWS * 16]), return_counts=True)
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


def is_giant_file(path: str | Path) -> bool:
    try:
        with h5py.File(path, "r", locking=False) as handle:
            return handle.attrs.get("format") == FORMAT
    except (OSError, ValueError):
        return False


class GiantFile:
    """An open giant-structure file; `bins` reads regions lazily. Use as a context manager."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise EDNNError(f"giant structure file {path} does not exist")
        try:
            self.handle = h5py.File(path, "r", locking=False)
        except OSError as exc:
            raise EDNNError(f"{path}: not a readable HDF5 file ({exc})") from None
        h = self.handle
        try:
            if h.attrs.get("format") != FORMAT:
                raise EDNNError(f"{path}: not an ednn giant structure file")
            if not h.attrs.get("complete", False):
                raise EDNNError(f"{path}: incomplete (its writer stopped before the last bin); make it again")
            missing = [name for name in ("positions", "numbers", "offsets", "cell") if name not in h]
            if missing or "bins" not in h.attrs:
                raise EDNNError(f"{path}: not an ednn giant structure file (missing "
                                + (f"dataset {', '.join(missing)})" if missing else "attribute bins)"))
            self.bins = AtomBins(h["positions"], h["numbers"], h["offsets"][:], h["cell"][:],
                                 tuple(np.ravel(h.attrs["bins"])), source=str(path))
        except BaseException:
            h.close()
            raise

    def __enter__(self) -> "GiantFile":
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


class GiantWriter:
    """Write a giant structure bin column by bin column: `write_column(i, positions, numbers)`
    for i = 0 … bx − 1 in order, each column's atoms in any order (sorted here by bin)."""

    def __init__(self, path: str | Path, cell: np.ndarray, counts: tuple[int, int], attrs: dict | None = None):
        self.path = Path(path)
        if self.path.suffix not in (".h5", ".hdf5"):
            raise EDNNError(f"{self.path}: the file name must end in .h5 or .hdf5")
        self.cell = np.asarray(cell, dtype=np.float64)
        self.lengths = _check_planar_cell(self.cell)
        self.counts = tuple(int(c) for c in counts)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.handle = h5py.File(self.tmp, "w")
        h = self.handle
        h.attrs.update({"format": FORMAT, "bins": list(self.counts), "complete": False, **(attrs or {})})
        h["cell"] = self.cell
        h.create_dataset("positions", (0, 3), maxshape=(None, 3), chunks=(_CHUNK_ROWS, 3), dtype=np.float64)
        h.create_dataset("numbers", (0,), maxshape=(None,), chunks=(_CHUNK_ROWS,), dtype=np.uint8)
        self.offsets = [0]
        self.next_column = 0

    def write_column(self, column: int, positions: np.ndarray, numbers: np.ndarray) -> None:
        if column != self.next_column:
            raise EDNNError(f"bin columns must come in order: expected {self.next_column}, got {column}")
        positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        numbers = np.asarray(numbers)
        if not np.isfinite(positions).all():
            raise EDNNError("giant structure has NaN or infinite positions")
        if len(numbers) and (numbers.min() < 1 or numbers.max() > 118):
            raise EDNNError("atomic numbers must lie between 1 and 118")
        positions = wrap_in_plane(positions, self.lengths)
        index = _bin_index(positions, self.lengths, self.counts)
        if len(index) and not np.all(index // self.counts[1] == column):
            raise EDNNError(f"atoms given for bin column {column} lie outside it")
        order = np.argsort(index, kind="stable")
        local = index[order] - column * self.counts[1]
        self.offsets.extend((self.offsets[-1] + np.searchsorted(local, np.arange(1, self.counts[1] + 1))).tolist())
        n = self.handle["positions"].shape[0]
        for name, values in (("positions", positions[order]), ("numbers", numbers[order].astype(np.uint8))):
            self.handle[name].resize(n + len(order), axis=0)
            self.handle[name][n:] = values
        self.next_column += 1

    def close(self) -> Path:
        """Finish the file (all columns written) and move it into place."""
        if self.next_column != self.counts[0]:
            self.handle.close()
            raise EDNNError(f"only {self.next_column} of {self.counts[0]} bin columns were written")
        self.handle["offsets"] = np.asarray(self.offsets, dtype=np.int64)
        self.handle.attrs["complete"] = True
        self.handle.close()
        self.tmp.replace(self.path)
        return self.path

    def abort(self) -> None:
        self.handle.close()
        self.tmp.unlink(missing_ok=True)


def write_giant(path: str | Path, atoms: Atoms, bin_size: float = DEFAULT_BIN) -> Path:
    """Store an in-memory structure as a giant-structure file."""
    bins = AtomBins.from_atoms(atoms, bin_size)
    writer = GiantWriter(path, atoms.cell.array, bins.counts)
    try:
        for i in range(bins.counts[0]):
            start, stop = bins.offsets[i * bins.counts[1]], bins.offsets[(i + 1) * bins.counts[1]]
            writer.write_column(i, bins.positions[start:stop], bins.numbers[start:stop])
    except BaseException:
        writer.abort()
        raise
    return writer.close()
