"""What a data file holds, told from its name and a look inside: grids, or atomic structures."""

from __future__ import annotations

from pathlib import Path

import h5py

from ednn.io.giant import is_giant_file
from ednn.io.structures import is_structure_file


def ase_readable(path: str | Path) -> bool:
    """True if ASE reads files of this name (extxyz, traj, db, cif, POSCAR, OUTCAR, ...)."""
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats

    try:
        name = filetype(str(path), read=False)
    except UnknownFileTypeError:
        return False
    return name in ioformats and ioformats[name].can_read


def holds_structures(path: str | Path) -> bool:
    """True for an existing file of atomic structures: an ednn structure or giant-structure
    file, or a file whose name ASE reads."""
    path = Path(path)
    return path.is_file() and (is_structure_file(path) or is_giant_file(path) or ase_readable(path))


def holds_grids(path: str | Path) -> bool:
    """True for an existing .npz file or an HDF5 file with an 'x' dataset (grid data)."""
    path = Path(path)
    if path.suffix == ".npz":
        return path.is_file()
    if path.suffix not in (".h5", ".hdf5") or not path.is_file():
        return False
    try:
        with h5py.File(path, "r", locking=False) as handle:
            return isinstance(handle.get("x"), h5py.Dataset)
    except OSError:
        return False
