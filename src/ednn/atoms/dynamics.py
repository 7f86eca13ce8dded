"""Planar Langevin molecular dynamics with any ASE calculator, resumable from its trajectory.

The sheet stays in its plane: every atom carries ASE's `FixedPlane` constraint (no z motion,
z forces and momenta removed), as in the paper's 2D setting. Frames (positions, momenta,
energy) go to an ASE trajectory file one by one; ASE writes a frame's data before it counts
the frame, so a run killed mid-write keeps every complete frame, and running the same command
again continues from the last one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from ase import Atoms, units
from ase.constraints import FixedPlane
from ase.io import Trajectory
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary
from tqdm import tqdm

from ednn.errors import EDNNError


def planar(atoms: Atoms) -> Atoms:
    """A copy of `atoms` constrained to move in its xy plane."""
    atoms = atoms.copy()
    atoms.set_constraint(FixedPlane(indices=list(range(len(atoms))), direction=(0.0, 0.0, 1.0)))
    return atoms


def _check(temperature_K: float, timestep_fs: float, steps: int, friction_per_fs: float) -> None:
    if not (np.isfinite(temperature_K) and temperature_K > 0):
        raise EDNNError(f"temperature must be > 0 K, got {temperature_K}")
    if not (np.isfinite(timestep_fs) and timestep_fs > 0):
        raise EDNNError(f"time step must be > 0 fs, got {timestep_fs}")
    if steps < 1:
        raise EDNNError(f"number of MD steps must be >= 1, got {steps}")
    if not (np.isfinite(friction_per_fs) and friction_per_fs > 0):
        raise EDNNError(f"Langevin friction must be > 0 per fs, got {friction_per_fs}")


def _last_frame(trajectory: Path) -> tuple[Atoms | None, int]:
    if not trajectory.exists():
        return None, 0
    try:
        with Trajectory(str(trajectory)) as frames:
            n = len(frames)
            return (frames[n - 1] if n else None), n
    except Exception as exc:  # ASE raises various errors for foreign or corrupt files
        raise EDNNError(f"{trajectory}: cannot continue from this trajectory ({exc})") from None


def run_planar_md(
    atoms: Atoms,
    calculator,
    trajectory: Path,
    *,
    temperature_K: float,
    timestep_fs: float,
    steps: int,
    friction_per_fs: float = 0.01,
    seed: int = 0,
    progress: bool = True,
    on_frame: Callable[[Atoms], None] | None = None,
) -> int:
    """Run planar Langevin MD until `trajectory` holds `steps` + 1 frames (the start included).

    A new run draws Maxwell–Boltzmann in-plane velocities at `temperature_K` (zero total
    momentum) from `seed`; an existing trajectory continues from its last frame with its
    momenta, and the thermostat's noise is seeded by (seed, frames done), so a resumed run is
    as reproducible as an uninterrupted one is. Returns the number of steps run now.
    """
    _check(temperature_K, timestep_fs, steps, friction_per_fs)
    trajectory = Path(trajectory)
    last, done = _last_frame(trajectory)
    if done > steps:
        return 0
    if last is None:
        atoms = planar(atoms)
        scale = np.sqrt(atoms.get_masses() * units.kB * temperature_K)
        momenta = np.random.default_rng(seed).normal(size=(len(atoms), 3)) * scale[:, None]
        momenta[:, 2] = 0.0
        atoms.set_momenta(momenta)
        Stationary(atoms)
    else:
        atoms = planar(last)
    atoms.calc = calculator
    atoms.get_forces()  # a structure the calculator refuses is refused before anything is written
    rng = np.random.default_rng([seed, done])
    dynamics = Langevin(atoms, timestep=timestep_fs * units.fs, temperature_K=temperature_K,
                        friction=friction_per_fs / units.fs, fixcm=False, rng=rng)
    skip_first = done > 0  # ASE calls observers before the first step too: that frame is stored
    with Trajectory(str(trajectory), "a", atoms) as out, \
            tqdm(total=steps, initial=max(done - 1, 0), unit="step", disable=not progress,
                 desc="MD") as bar:
        def write() -> None:
            nonlocal skip_first
            if skip_first:
                skip_first = False
                return
            out.write()
            bar.update(1 if len(out) > 1 else 0)
            if on_frame is not None:
                on_frame(atoms)
        dynamics.attach(write, interval=1)
        dynamics.run(steps + 1 - max(done, 1))
    return steps + 1 - max(done, 1)
