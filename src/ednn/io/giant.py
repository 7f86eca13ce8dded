"""Giant-structure files: atoms sorted into bins (`ednn.atoms.bins.AtomBins`) in chunked HDF5.

Layout (`format` = "ednn-giant-v1"): `positions` (N, 3) float64 and `numbers` (N,) uint8,
in uncompressed chunks of 16 384 rows (gzip made reading the atoms near a block cost as much
as evaluating it), each with a fletcher32 checksum (files written before have none);
`offsets` (bx·by + 1,) int64; `cell` (3, 3) in Å; attribute `bins` (bx, by). Files are
written bin column by bin column (`GiantWriter`), so a structure larger than memory never
has to exist in memory at once; a file is complete only when `complete` is set. Stored x, y
lie in [0, Lx) × [0, Ly) (writers wrap them). Opening checks `offsets` against the datasets.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
from ase import Atoms

from ednn.atoms.bins import DEFAULT_BIN, AtomBins, bin_index, check_planar_cell, wrap_in_plane
from ednn.core.errors import EDNNError

FORMAT = "ednn-giant-v1"
_CHUNK_ROWS = 1 << 14  # small, uncompressed chunks: a block reads a few bins of many columns


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
                raise EDNNError(
                    f"{path}: not an ednn giant structure file (missing "
                    + (f"dataset {', '.join(missing)})" if missing else "attribute bins)")
                )
            self.bins = AtomBins(
                h["positions"],
                h["numbers"],
                h["offsets"][:],
                h["cell"][:],
                tuple(np.ravel(h.attrs["bins"])),
                source=str(path),
            )
        except BaseException:
            h.close()
            raise

    def __enter__(self) -> GiantFile:
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
        self.lengths = check_planar_cell(self.cell)
        self.counts = tuple(int(c) for c in counts)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.handle = h5py.File(self.tmp, "w")
        h = self.handle
        h.attrs.update({"format": FORMAT, "bins": list(self.counts), "complete": False, **(attrs or {})})
        h["cell"] = self.cell
        for name, columns, dtype in (("positions", (3,), np.float64), ("numbers", (), np.uint8)):
            h.create_dataset(
                name,
                (0, *columns),
                maxshape=(None, *columns),
                chunks=(_CHUNK_ROWS, *columns),
                dtype=dtype,
                fletcher32=True,
            )
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
        index = bin_index(positions, self.lengths, self.counts)
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
