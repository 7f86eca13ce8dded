"""HDF5 files of atomic structures and their reference energies.

Layout (format ``ednn-atoms-v1``), for N structures with A atoms in all:
``numbers`` (A,) uint8, ``positions`` (A, 3) float64 Å, ``offsets`` (N + 1,) int64
(structure k is atoms offsets[k]:offsets[k+1]), ``cell`` (N, 3, 3) float64 Å,
``kind`` (N,) str, ``energy`` (N,) float64 eV (NaN until labelled), ``label_seconds``
(N,) float64 (wall seconds of each label, NaN until labelled), ``failed`` (N,) bool
(the reference calculation raised or gave a non-finite energy), optionally ``failure_reason``
(N,) str (why, one line, '' if it did not fail; added by the first failure `store_labels`
records, files without it read as all ''), optionally ``group`` (N,) int64 (structures that
share a group, e.g. the frames of one MD run, belong on the same side of a train/test split;
files without it read as one group per structure). Attributes record how the file was made.

Checksums: files written by this ednn store every numeric dataset with HDF5's fletcher32
checksum per chunk (positions rounded by `decimals`, whose scale-offset filter HDF5 does not
combine with it, carry a SHA-256 of the stored values in their ``sha256`` attribute instead); a
read that meets a damaged chunk is named as damage. Files written before have no checksums.

An extendable file (`write_structures(..., extendable=True)`) grows by `append_structures`;
its ``offsets`` are written last, so structures appended by an interrupted write are not in
the file (readers take N from ``offsets`` and ignore anything past it).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError
from ednn.io.atomic import atomic_path
from ednn.io.paths import make_parent

FORMAT = "ednn-atoms-v1"
_STRING = h5py.string_dtype()


def _check_finite(structures: Sequence[Atoms], where: str = "") -> None:
    """Refuse structures with NaN or infinite positions, naming how many and the first."""
    bad = [k for k, s in enumerate(structures) if not np.isfinite(s.positions).all()]
    if bad:
        count = "1 structure (number" if len(bad) == 1 else f"{len(bad)} structures (first: number"
        raise EDNNError(
            f"{where}{count} {bad[0]}) of {len(structures)} {'has' if len(bad) == 1 else 'have'} "
            "NaN or infinite positions"
        )


def _columns(
    structures: Sequence[Atoms],
    energies: Sequence[float] | None,
    groups: Sequence[int] | None,
    seconds: Sequence[float] | None,
    failed: Sequence[bool] | None,
) -> dict[str, np.ndarray]:
    """The datasets' rows for `structures` (offsets relative to 0)."""
    open_cells = [k for k, s in enumerate(structures) if not s.pbc[:2].all()]
    if open_cells:
        raise EDNNError(
            f"{len(open_cells)} structures (first: number {open_cells[0]}) are not periodic along x "
            "and y; structure files hold periodic cells only"
        )
    _check_finite(structures)
    n = len(structures)

    def column(values, default, dtype):
        return np.full(n, default, dtype) if values is None else np.asarray(values, dtype).reshape(n)

    return {
        "numbers": np.concatenate([[]] + [s.numbers for s in structures]).astype(np.uint8),
        "positions": np.concatenate([np.empty((0, 3))] + [s.positions for s in structures]),
        "offsets": np.concatenate([[0], np.cumsum([len(s) for s in structures])]).astype(np.int64),
        "cell": np.stack([s.cell.array for s in structures]) if n else np.empty((0, 3, 3)),
        "kind": np.array([str(s.info.get("kind", "")) for s in structures], dtype=object),
        "energy": column(energies, np.nan, np.float64),
        "label_seconds": column(seconds, np.nan, np.float64),
        "failed": column(failed, False, bool),
        "group": column(groups, 0, np.int64),
    }


_PER_ATOM = ("numbers", "positions")
#: Compressed columns; in files that are not extendable also offsets and cell, which are then
#: written once (labels are rewritten in place: a rewritten compressed chunk would leave its
#: old space unused in the file).
_COMPRESSED = (*_PER_ATOM, "offsets", "cell")


def write_structures(
    path: str | Path,
    structures: Sequence[Atoms],
    attrs: dict | None = None,
    energies: Sequence[float] | None = None,
    groups: Sequence[int] | None = None,
    extendable: bool = False,
    decimals: int | None = None,
) -> Path:
    """Write structures (and, if given, their energies in eV and group numbers) to a new HDF5
    file, atomically. An extendable file may start empty and grows by `append_structures`.

    Every structure must be periodic along x and y (they are read back as fully periodic).
    `decimals`: round positions to that many decimals of an Å and store them as scaled
    integers (HDF5 scale-offset), about a third of the space — for unlabelled structures
    in a file that is not extendable, whose labels are then computed from the stored positions.
    """
    path = Path(path)
    if not structures and not extendable:
        raise EDNNError("no structures to write")
    if decimals is not None and (extendable or energies is not None or decimals < 0):
        raise EDNNError("rounded positions (decimals ≥ 0) are for new unlabelled files that are not extendable")
    columns = _columns(structures, energies, groups, None, None)
    if groups is None:
        del columns["group"]
    make_parent(path)
    space = {"fs_strategy": "fsm", "fs_persist": True} if extendable else {}  # appends reuse freed space
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", **space) as f:
            f.attrs["format"] = FORMAT
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
            if decimals is not None:
                columns["positions"] = np.round(columns["positions"], decimals)
            for name, data in columns.items():
                options = {"dtype": _STRING} if name == "kind" else {}
                if name in (_PER_ATOM if extendable else _COMPRESSED):
                    options.update(compression="gzip", compression_opts=6, shuffle=True)
                if name == "positions" and decimals is not None:
                    options["scaleoffset"] = decimals
                elif name != "kind":  # HDF5 filters do not apply to variable-length strings
                    options["fletcher32"] = True
                if extendable:
                    rows = 16384 if name in _PER_ATOM else 1024
                    options.update(maxshape=(None, *data.shape[1:]), chunks=(rows, *data.shape[1:]))
                f.create_dataset(name, data=data, **options)
        if decimals is not None:  # the digest of the values as stored, read back from the closed file
            with h5py.File(tmp, "r+") as f:
                f["positions"].attrs["sha256"] = _digest(f["positions"][()])
    return path


def _digest(values: np.ndarray) -> str:
    """SHA-256 (hex) of an array's values as little-endian float64."""
    return hashlib.sha256(np.ascontiguousarray(values, "<f8").tobytes()).hexdigest()


@contextmanager
def _damage_named(path: Path, what: str = "") -> Iterator[None]:
    """Turn HDF5's errors on reading a damaged or truncated file into one line naming the file."""
    try:
        yield
    except (KeyError, OSError, RuntimeError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "filter" in message or "checksum" in message:
            raise EDNNError(
                f"{path} is damaged: a checksum of its {what or 'data'} does not match (the file changed after "
                "it was written; get or make a fresh copy)"
            ) from None
        raise EDNNError(f"{path} is not a readable ednn structure file (truncated or corrupt?): {message}") from None


def append_structures(
    path: str | Path,
    structures: Sequence[Atoms],
    energies: Sequence[float] | None = None,
    groups: Sequence[int] | None = None,
    seconds: Sequence[float] | None = None,
    failed: Sequence[bool] | None = None,
) -> None:
    """Append structures with their energies (eV), groups, label seconds and failure flags
    to an extendable structure file, and flush; `offsets` is written last."""
    path = Path(path)
    columns = _columns(structures, energies, groups, seconds, failed)
    with _open(path, "r+") as f:
        if f["offsets"].maxshape[0] is not None or "group" not in f:
            raise EDNNError(f"{path} was not written as an extendable file with groups; structures cannot be appended")
        n, n_atoms = len(f["offsets"]) - 1, int(f["offsets"][-1])
        new_offsets = n_atoms + columns.pop("offsets")
        if "failure_reason" in f:
            columns["failure_reason"] = np.full(len(structures), "", dtype=object)
        for name, data in columns.items():
            start = n_atoms if name in _PER_ATOM else n
            f[name].resize(start + len(data), axis=0)
            f[name][start:] = data
        f.flush()
        f["offsets"].resize(n + len(structures) + 1, axis=0)
        f["offsets"][n + 1 :] = new_offsets[1:]
        f.flush()


def _open(path: Path, mode: str = "r") -> h5py.File:
    """Open a structure file; readers take no HDF5 lock, so a labelling run can write
    while others read, and a writer retries for a few seconds if the file is locked."""
    if not path.is_file():
        raise EDNNError(f"structure file {path} does not exist")
    for attempt in range(10):
        try:
            handle = h5py.File(path, mode, locking=False) if mode == "r" else h5py.File(path, mode)
            break
        except BlockingIOError:
            if attempt == 9:
                raise EDNNError(f"{path} is locked by another process that writes to it") from None
            time.sleep(0.5)
        except OSError:
            raise EDNNError(f"{path} is not a readable HDF5 file (truncated or corrupt?)") from None
    if handle.attrs.get("format") != FORMAT:
        handle.close()
        raise EDNNError(f"{path} is not an ednn structure file (format {FORMAT!r} expected)")
    return handle


class StructureFile:
    """Read access to a structure file: len(), structures(indices), energies, labelling state,
    `group` (N,) int64."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _open(self.path) as f, _damage_named(self.path, "labels or cells"):
            self.offsets = f["offsets"][()]
            n = len(self.offsets) - 1  # an interrupted append may have left rows past n
            self.cell = f["cell"][:n]
            self.kind = np.array([k.decode() if isinstance(k, bytes) else k for k in f["kind"][:n]], dtype=str)
            self.energy = f["energy"][:n]
            self.label_seconds = f["label_seconds"][:n]
            self.failed = f["failed"][:n]
            self.failure_reason = (
                np.array([r.decode() for r in f["failure_reason"][:n]], dtype=str)
                if "failure_reason" in f
                else np.full(n, "", dtype=str)
            )
            self.group = f["group"][:n] if "group" in f else np.arange(n)
            self.attrs = dict(f.attrs)
        self._numbers: np.ndarray | None = None
        self._positions: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_atoms(self) -> np.ndarray:
        """(N,) atoms per structure."""
        return np.diff(self.offsets)

    @property
    def labelled(self) -> np.ndarray:
        """(N,) bool: structures with a finite reference energy."""
        return np.isfinite(self.energy)

    def _load_atoms(self) -> None:
        if self._numbers is None:
            with _open(self.path) as f, _damage_named(self.path, "atoms"):
                numbers, positions = f["numbers"][()], f["positions"][()]
                stored = f["positions"].attrs.get("sha256")
            if stored is not None and _digest(positions) != stored:
                raise EDNNError(
                    f"{self.path} is damaged: its positions do not match the SHA-256 stored with them "
                    "(the file changed after it was written; get or make a fresh copy)"
                )
            self._numbers, self._positions = numbers, positions

    def structures(self, indices: Sequence[int] | None = None) -> list[Atoms]:
        """ase.Atoms of the given structures (all by default), energies in info['energy']."""
        self._load_atoms()
        indices = range(len(self)) if indices is None else indices
        out = []
        for k in indices:
            lo, hi = self.offsets[k], self.offsets[k + 1]
            atoms = Atoms(numbers=self._numbers[lo:hi], positions=self._positions[lo:hi], cell=self.cell[k], pbc=True)
            atoms.info.update(
                kind=str(self.kind[k]), energy=float(self.energy[k]), index=int(k), group=int(self.group[k])
            )
            out.append(atoms)
        return out


def store_labels(
    path: str | Path,
    indices: Sequence[int],
    energies: Sequence[float],
    seconds: Sequence[float],
    failed: Sequence[bool],
    reasons: Sequence[str] | None = None,
) -> None:
    """Write reference energies (eV), label times (s), failure flags and (if given) failure
    reasons ('' for none) of some structures, and flush."""
    order = np.argsort(indices)
    idx = np.asarray(indices)[order]
    with _open(Path(path), "r+") as f:
        f["energy"][idx] = np.asarray(energies, np.float64)[order]
        f["label_seconds"][idx] = np.asarray(seconds, np.float64)[order]
        f["failed"][idx] = np.asarray(failed, bool)[order]
        if reasons is not None and (any(reasons) or "failure_reason" in f):
            if "failure_reason" not in f:  # files written before reasons were kept, and new ones
                energy = f["energy"]
                f.create_dataset(
                    "failure_reason", shape=energy.shape, maxshape=energy.maxshape, chunks=energy.chunks, dtype=_STRING
                )
            f["failure_reason"][idx] = np.asarray(reasons, dtype=object)[order]
        f.flush()


def update_attrs(path: str | Path, attrs: dict) -> None:
    """Set attributes of a structure file."""
    with _open(Path(path), "r+") as f:
        f.attrs.update(attrs)


def is_structure_file(path: str | Path) -> bool:
    """True for an HDF5 file in ednn's structure format."""
    path = Path(path)
    if path.suffix not in (".h5", ".hdf5") or not path.is_file():
        return False
    try:
        with h5py.File(path, "r") as f:
            return f.attrs.get("format") == FORMAT
    except OSError:
        return False


def _energy_of(atoms: Atoms) -> float | None:
    if atoms.calc is not None:
        try:
            return float(atoms.get_potential_energy())
        except Exception:  # a calculator that holds no energy
            pass
    for key in ("energy", "Energy", "free_energy", "total_energy"):
        if key in atoms.info:
            return float(atoms.info[key])
    return None


def read_structures(
    path: str | Path, require_energy: bool = False, frames: str = ":"
) -> tuple[list[Atoms], np.ndarray | None]:
    """Structures and their energies (eV; None if the file has none) from an ednn structure
    file (without the structures whose labelling failed) or any file ASE can read (extxyz,
    ASE database, VASP OUTCAR, POSCAR, trajectories, ...); `frames` picks some of the
    structures by Python slice syntax ("500::2": from the 501st on, every second).

    With require_energy, every structure must carry a finite energy.
    """
    path = Path(path)
    if path.suffix in (".h5", ".hdf5"):
        data = StructureFile(path)
        kept = np.flatnonzero(~data.failed)[_frame_slice(frames)]  # failed labels have no energy
        structures = data.structures(kept)
        energies = data.energy[kept] if data.labelled.any() else None
    else:
        if not path.is_file():
            raise EDNNError(f"structure file {path} does not exist")
        import ase.io
        from ase.io.formats import UnknownFileTypeError

        try:
            structures = ase.io.read(path, index=_frame_slice(frames))
        except UnknownFileTypeError:
            raise EDNNError(
                f"{path} is not a structure file: give an ednn structure file (.h5) or one ASE reads "
                "(extxyz, ASE database, VASP OUTCAR or POSCAR, trajectory, ...)"
            ) from None
        except Exception as exc:  # ASE raises many types for unreadable files
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EDNNError(f"ASE cannot read {path}: {message}") from None
        if not structures:
            raise EDNNError(f"{path} holds no structures" + (f" in frames {frames!r}" if frames != ":" else ""))
        _check_finite(structures, f"{path}: ")  # first: ASE drops the energy of a structure with NaN positions
        found = [_energy_of(s) for s in structures]
        energies = (
            None if all(e is None for e in found) else np.array([np.nan if e is None else e for e in found], np.float64)
        )
    if require_energy:
        if energies is None:
            raise EDNNError(f"{path} has no energies: label it (ednn label) or give a file with energies")
        missing = int((~np.isfinite(energies)).sum())
        if missing:
            raise EDNNError(f"{path}: {missing} of {len(structures)} structures have no energy")
    return structures, energies


def _frame_slice(frames: str) -> slice:
    try:
        parts = [int(p) if p.strip() else None for p in frames.split(":")]
        if len(parts) > 3 or (len(parts) == 3 and parts[2] == 0):
            raise ValueError
    except ValueError:
        raise EDNNError(f"frames must be a slice like ':' or '500::2', got {frames!r}") from None
    if len(parts) == 1:
        return slice(parts[0], None if parts[0] == -1 else parts[0] + 1)
    return slice(*parts)
