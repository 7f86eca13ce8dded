"""HDF5 files of atomic structures and their reference energies.

Layout (format ``ednn-atoms-v1``), for N structures with A atoms in all:
``numbers`` (A,) uint8, ``positions`` (A, 3) float64 Å, ``offsets`` (N + 1,) int64
(structure k is atoms offsets[k]:offsets[k+1]), ``cell`` (N, 3, 3) float64 Å,
``kind`` (N,) str, ``energy`` (N,) float64 eV (NaN until labelled), ``label_seconds``
(N,) float64 (wall seconds of each label, NaN until labelled), ``failed`` (N,) bool
(the reference calculation raised). Attributes record how the file was made.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np
from ase import Atoms

from ednn.errors import EDNNError

FORMAT = "ednn-atoms-v1"
_STRING = h5py.string_dtype()


def write_structures(path: str | Path, structures: Sequence[Atoms], attrs: dict | None = None,
                     energies: Sequence[float] | None = None) -> Path:
    """Write structures (and, if given, their energies in eV) to a new HDF5 file, atomically.

    Every structure must be periodic along x and y (they are read back as fully periodic).
    """
    path = Path(path)
    if not structures:
        raise EDNNError("no structures to write")
    open_cells = [k for k, s in enumerate(structures) if not s.pbc[:2].all()]
    if open_cells:
        raise EDNNError(f"{len(open_cells)} structures (first: number {open_cells[0]}) are not periodic along x "
                        "and y; structure files hold periodic cells only")
    counts = np.array([len(s) for s in structures])
    energy = np.full(len(structures), np.nan) if energies is None else np.asarray(energies, np.float64)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = FORMAT
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
        compress = {"compression": "gzip", "compression_opts": 6, "shuffle": True}
        f.create_dataset("numbers", data=np.concatenate([s.numbers for s in structures]).astype(np.uint8), **compress)
        f.create_dataset("positions", data=np.concatenate([s.positions for s in structures]), **compress)
        f.create_dataset("offsets", data=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
        f.create_dataset("cell", data=np.stack([s.cell.array for s in structures]))
        f.create_dataset("kind", data=[str(s.info.get("kind", "")) for s in structures], dtype=_STRING)
        f.create_dataset("energy", data=energy)
        f.create_dataset("label_seconds", data=np.full(len(structures), np.nan))
        f.create_dataset("failed", data=np.zeros(len(structures), bool))
    tmp.replace(path)
    return path


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
    """Read access to a structure file: len(), structures(indices), energies, labelling state."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _open(self.path) as f:
            try:
                self.offsets = f["offsets"][()]
                self.cell = f["cell"][()]
                self.kind = np.array([k.decode() if isinstance(k, bytes) else k for k in f["kind"][()]])
                self.energy = f["energy"][()]
                self.label_seconds = f["label_seconds"][()]
                self.failed = f["failed"][()]
                self.attrs = dict(f.attrs)
            except (KeyError, OSError, RuntimeError):
                raise EDNNError(f"{self.path} is not a readable ednn structure file (truncated or corrupt?)") from None
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
            with _open(self.path) as f:
                self._numbers, self._positions = f["numbers"][()], f["positions"][()]

    def structures(self, indices: Sequence[int] | None = None) -> list[Atoms]:
        """ase.Atoms of the given structures (all by default), energies in info['energy']."""
        self._load_atoms()
        indices = range(len(self)) if indices is None else indices
        out = []
        for k in indices:
            lo, hi = self.offsets[k], self.offsets[k + 1]
            atoms = Atoms(numbers=self._numbers[lo:hi], positions=self._positions[lo:hi], cell=self.cell[k], pbc=True)
            atoms.info.update(kind=str(self.kind[k]), energy=float(self.energy[k]), index=int(k))
            out.append(atoms)
        return out


def store_labels(path: str | Path, indices: Sequence[int], energies: Sequence[float],
                 seconds: Sequence[float], failed: Sequence[bool]) -> None:
    """Write reference energies (eV) and label times (s) of some structures, and flush."""
    order = np.argsort(indices)
    idx = np.asarray(indices)[order]
    with _open(Path(path), "r+") as f:
        f["energy"][idx] = np.asarray(energies, np.float64)[order]
        f["label_seconds"][idx] = np.asarray(seconds, np.float64)[order]
        f["failed"][idx] = np.asarray(failed, bool)[order]
        f.flush()


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


def read_structures(path: str | Path, require_energy: bool = False, frames: str = ":"
                    ) -> tuple[list[Atoms], np.ndarray | None]:
    """Structures and their energies (eV; None if the file has none) from an ednn structure
    file (without the structures whose labelling failed) or any file ASE can read (extxyz,
    ASE database, VASP OUTCAR, POSCAR, trajectories, ...); `frames` picks some of an ASE
    file's structures by Python slice syntax ("500::2": from the 501st on, every second).

    With require_energy, every structure must carry a finite energy.
    """
    path = Path(path)
    if path.suffix in (".h5", ".hdf5"):
        data = StructureFile(path)
        kept = np.flatnonzero(~data.failed)  # structures whose reference calculation failed have no energy
        structures = data.structures(kept)
        energies = data.energy[kept] if data.labelled.any() else None
    else:
        if not path.is_file():
            raise EDNNError(f"structure file {path} does not exist")
        import ase.io

        try:
            structures = ase.io.read(path, index=_frame_slice(frames))
        except Exception as exc:  # ASE raises many types for unreadable files
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise EDNNError(f"ASE cannot read {path}: {message}") from None
        if not structures:
            raise EDNNError(f"{path} holds no structures")
        found = [_energy_of(s) for s in structures]
        energies = None if all(e is None for e in found) else np.array(
            [np.nan if e is None else e for e in found], np.float64)
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
