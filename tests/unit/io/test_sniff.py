import ase.io
import h5py
import numpy as np

from ednn.io.giant import FORMAT as GIANT_FORMAT
from ednn.io.sniff import ase_readable, holds_grids, holds_structures
from ednn.io.structures import write_structures
from ednn.systems.sheets import random_sheet


def test_grid_and_structure_files_are_told_apart(tmp_path):
    sheet = random_sheet((5, 3), 0, 0)[0]
    np.savez(tmp_path / "grids.npz", x=np.ones((2, 4, 4)))
    with h5py.File(tmp_path / "grids.h5", "w") as handle:
        handle["x"] = np.ones((2, 4, 4))
    with h5py.File(tmp_path / "no-x.h5", "w") as handle:
        handle["energy"] = np.ones(2)
    with h5py.File(tmp_path / "giant.h5", "w") as handle:
        handle.attrs["format"] = GIANT_FORMAT
    (tmp_path / "corrupt.h5").write_bytes(b"not hdf5")
    (tmp_path / "notes.txt").write_text("text\n")
    write_structures(tmp_path / "sheets.h5", [sheet], {"energy_method": "test"}, energies=[-1.0])
    ase.io.write(tmp_path / "sheet.extxyz", sheet)
    kinds = {path.name: (holds_grids(path), holds_structures(path)) for path in sorted(tmp_path.iterdir())}
    assert kinds == {
        "corrupt.h5": (False, False),
        "giant.h5": (False, True),
        "grids.h5": (True, False),
        "grids.npz": (True, False),
        "no-x.h5": (False, False),
        "notes.txt": (False, False),
        "sheet.extxyz": (False, True),
        "sheets.h5": (False, True),
    }
    assert not holds_grids(tmp_path / "missing.npz") and not holds_structures(tmp_path / "missing.extxyz")
    assert ase_readable(tmp_path / "missing.extxyz") and ase_readable("POSCAR") and not ase_readable("notes.txt")
