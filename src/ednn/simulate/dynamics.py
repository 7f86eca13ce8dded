"""Planar Langevin molecular dynamics with any ASE calculator, resumable from its trajectory.

The sheet stays in its plane: every atom carries ASE's `FixedPlane` constraint (no z motion,
z forces and momenta removed), as in the paper's 2D setting. Frames (positions, momenta,
energy) go to an ASE trajectory file one by one; ASE writes a frame's data before it counts
the frame, so a run killed mid-write keeps every complete frame, and running the same command
again continues from the last one. The run's settings are stored in the trajectory's
description, and a resume with other settings (or from another starting structure) is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units
from ase.constraints import FixedPlane
from ase.io import Trajectory
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.io.run_record import check_resume, structure_difference

FORMAT = "ednn-md-v1"
SETTINGS = {
    "temperature_K": ("temperature", "K"),
    "timestep_fs": ("time step", "fs"),
    "friction_per_fs": ("friction", "/fs"),
    "seed": ("seed", ""),
    "calculator": ("calculator", ""),
}
"""The stored settings of a run: key -> (name, unit) in messages. Only `steps` may change on resume."""
RUNAWAY_FACTOR = 10.0
RUNAWAY_FLOOR_K = 10_000.0
"""A run stops as unstable above max(RUNAWAY_FACTOR × target, RUNAWAY_FLOOR_K) K: the thermal spread
is ~1/√natoms of the target and a strained start warms as it relaxes (hence the floor), while a
too-long time step multiplies the temperature by orders of magnitude within a few steps."""


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


def _resume_point(trajectory: Path, settings: dict[str, Any], start: Atoms) -> tuple[Atoms | None, int]:
    """The last frame and the number of frames of `trajectory` if it holds this run; (None, 0) if it holds none."""
    if not trajectory.exists():
        return None, 0
    try:
        with Trajectory(str(trajectory)) as frames:
            n = len(frames)
            if n == 0:
                return None, 0
            stored, first, last = frames.description or {}, frames[0], frames[n - 1]
    except Exception as exc:  # ASE raises various errors for foreign or corrupt files
        raise EDNNError(f"{trajectory}: cannot continue from this trajectory ({exc})") from None
    if stored.get("format") != FORMAT:
        raise EDNNError(
            f"{trajectory} holds no ednn MD settings (written by another program or an older ednn); "
            "use another output file"
        )
    check_resume(
        stored,
        settings,
        f"{trajectory} was run",
        "use another output file or the same settings",
        SETTINGS,
        also=[structure_difference(first, start)],
    )
    return last, n


class _Unstable(EDNNError):
    """The run turned unstable (non-finite or too hot): a shorter time step may help."""


def _unstable(atoms: Atoms, limit_K: float) -> str | None:
    """Why the current state of the run is unstable (non-finite or too hot), or None."""
    temperature = atoms.get_temperature()
    energy = getattr(atoms.calc, "results", {}).get("energy", 0.0)  # as computed with the forces, not again
    if not (np.isfinite(energy) and np.isfinite(atoms.get_forces()).all() and np.isfinite(temperature)):
        return "non-finite energy, forces or velocities"
    return f"temperature {temperature:.0f} K, above the limit of {limit_K:.0f} K" if temperature > limit_K else None


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
    calculator_name: str | None = None,
    progress: bool = True,
    on_frame: Callable[[Atoms], None] | None = None,
) -> tuple[int, int]:
    """Run planar Langevin MD until `trajectory` holds `steps` + 1 frames (the start included).

    A new run draws Maxwell–Boltzmann in-plane velocities at `temperature_K` (zero total
    momentum) from `seed`; an existing trajectory continues from its last frame with its
    momenta, and the thermostat's noise is seeded by (seed, frames done), so a resumed run is
    as reproducible as an uninterrupted one is. The settings, with `calculator_name` (default:
    the calculator's `identity` if it has one, as an EDNN calculator has, else its class name),
    are stored in the trajectory; resuming with others, or from another `atoms`, raises EDNNError.
    So does a run that turns unstable (non-finite, or hotter than max(10 × target, 10 000 K)), or
    whose calculator or `on_frame` raises EDNNError, after the frames before it are written.
    `on_frame` sees each new frame before it is written. Returns (steps run now, steps the
    trajectory holds).
    """
    _check(temperature_K, timestep_fs, steps, friction_per_fs)
    trajectory = Path(trajectory)
    settings = {
        "temperature_K": float(temperature_K),
        "timestep_fs": float(timestep_fs),
        "friction_per_fs": float(friction_per_fs),
        "seed": int(seed),
        "calculator": calculator_name or getattr(calculator, "identity", None) or type(calculator).__name__,
    }
    last, done = _resume_point(trajectory, settings, atoms)
    if done > steps:
        return 0, done - 1
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
    limit_K = max(RUNAWAY_FACTOR * temperature_K, RUNAWAY_FLOOR_K)
    if reason := _unstable(atoms, limit_K):
        raise EDNNError(f"cannot start MD from this structure: {reason}")
    rng = np.random.default_rng([seed, done])
    dynamics = Langevin(
        atoms,
        timestep=timestep_fs * units.fs,
        temperature_K=temperature_K,
        friction=friction_per_fs / units.fs,
        fixcm=False,
        rng=rng,
    )
    skip_first = done > 0  # ASE calls observers before the first step too: that frame is stored
    with (
        Trajectory(str(trajectory), "a", atoms) as out,
        tqdm(total=steps, initial=max(done - 1, 0), unit="step", disable=not progress, desc="MD") as bar,
    ):
        out.set_description({"format": FORMAT, **settings})  # written with frame 0 only

        def write() -> None:
            nonlocal skip_first
            if skip_first:
                skip_first = False
                return
            if reason := _unstable(atoms, limit_K):
                raise _Unstable(reason)
            if on_frame is not None:
                on_frame(atoms)
            out.write()
            bar.update(1 if len(out) > 1 else 0)

        dynamics.attach(write, interval=1)
        try:
            dynamics.run(steps + 1 - max(done, 1))
        except _Unstable as exc:
            raise EDNNError(
                f"MD became unstable at step {len(out)}: {exc}; frames up to step {len(out) - 1} are "
                f"kept in {trajectory}; start a new trajectory with a time step below {timestep_fs:g} fs "
                "(--timestep)"
            ) from None
        except EDNNError as exc:  # the calculator refusing a structure, or on_frame
            raise EDNNError(
                f"MD stopped at step {len(out)}: {exc}; frames up to step {len(out) - 1} are kept in {trajectory}"
            ) from None
    return steps + 1 - max(done, 1), steps
