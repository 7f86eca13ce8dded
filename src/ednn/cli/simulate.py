"""`ednn md` and `ednn mc`: simulations driven by a trained EDNN or by a reference calculator."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ednn.cli.arguments import parse_pair
from ednn.cli.data_checks import require_model_file
from ednn.cli.output import output_place, require_suffix
from ednn.core.errors import EDNNError


def _check_structure(structure: Path | None) -> None:
    """Refuse a STRUCTURE that is not there, before anything slow is imported."""
    if structure is not None and not structure.is_file():
        raise EDNNError(f"{structure}: {'not a file' if structure.exists() else 'no such file'}")


def _check_positive(value: float, name: str, unit: str) -> None:
    """Refuse a setting that is not a finite number above zero, before anything slow is imported."""
    if not (math.isfinite(value) and value > 0):
        raise EDNNError(f"{name} must be > 0 {unit}, got {value}")


def _starting_structure(structure: Path | None, cells_text: str):
    from ase.io import read
    from ase.io.formats import UnknownFileTypeError

    from ednn.systems.sheets import honeycomb

    if structure is None:
        return honeycomb(parse_pair(cells_text))[0]
    try:
        frames = read(structure, index=":2")
    except UnknownFileTypeError:
        raise EDNNError(
            f"{structure}: not a format ASE reads; give one structure as extxyz, POSCAR, an ASE trajectory, ..."
        ) from None
    except Exception as exc:  # ASE raises many kinds for unreadable files
        raise EDNNError(f"{structure}: ASE cannot read it ({exc})") from None
    if len(frames) != 1:
        raise EDNNError(f"{structure} holds {'several structures' if frames else 'no structure'}: give a file of one")
    return frames[0]


def _calculator(spec: str) -> tuple[object, str]:
    """The ASE calculator for `spec` and its name for the trajectory: a model by its content (`identity`)."""
    if spec.endswith(".safetensors"):
        from ednn.io.model_file import load

        calculator = load(spec).calculator()
        return calculator, calculator.identity
    from ednn.references.label import make_calculator

    return make_calculator(spec), spec


structure_argument = click.argument("structure", required=False, type=click.Path(dir_okay=False, path_type=Path))
cells_option = click.option(
    "--cells",
    "cells_text",
    default="5x3",
    show_default=True,
    help="Without STRUCTURE: pristine graphene (a = 2.50 Å) of this many "
    "rectangular four-atom cells; 5x3 is the 60-atom, 12.50 × 12.99 Å cell (the "
    "sheet models take multiples of 5x3: 10x6, 15x3, …).",
)
temperature_option = click.option(
    "--temperature", "-T", type=float, default=1000.0, show_default=True, help="Temperature in K."
)
seed_option = click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Random seed.")


@click.command()
@structure_argument
@click.option(
    "--calculator",
    "-c",
    "calculator_spec",
    required=True,
    help="A trained model (.safetensors), gfn1-xtb / gfn2-xtb (tblite), tersoff-bcn "
    "(matscipy), or any ASE calculator as 'module:factory'.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="ASE trajectory (.traj) that receives every frame; an existing one (same settings but --steps) is continued.",
)
@cells_option
@temperature_option
@click.option("--timestep", type=float, default=1.0, show_default=True, help="Time step in fs.")
@click.option(
    "--steps", type=click.IntRange(1), required=True, help="Total MD steps (a resumed run counts those done)."
)
@click.option("--friction", type=float, default=0.01, show_default=True, help="Langevin friction in 1/fs.")
@seed_option
def md(
    structure: Path | None,
    calculator_spec: str,
    out: Path,
    cells_text: str,
    temperature: float,
    timestep: float,
    steps: int,
    friction: float,
    seed: int,
) -> None:
    """Planar Langevin MD (z frozen) of STRUCTURE, any ASE-readable file.

    Every frame (positions, momenta, energy) is written to OUT as it is made; after an
    interruption run the same command again (a larger --steps to run longer) and it continues
    from the last frame. A run that turns unstable (non-finite, or hotter than the larger of
    10 × -T and 10 000 K) stops with an error; the frames before it stay in OUT.
    """
    if out.suffix != ".traj":
        raise EDNNError(f"{out}: the trajectory file name must end in .traj")
    _check_structure(structure)
    if calculator_spec.endswith(".safetensors"):
        require_model_file(Path(calculator_spec))
    for value, name, unit in (
        (temperature, "temperature", "K"),
        (timestep, "time step", "fs"),
        (friction, "Langevin friction", "per fs"),
    ):
        _check_positive(value, name, unit)
    with output_place(out):
        from ednn.simulate.dynamics import run_planar_md

        atoms = _starting_structure(structure, cells_text)
        calculator, calculator_name = _calculator(calculator_spec)
        ran, held = run_planar_md(
            atoms,
            calculator,
            out,
            temperature_K=temperature,
            timestep_fs=timestep,
            steps=steps,
            friction_per_fs=friction,
            seed=seed,
            calculator_name=calculator_name,
        )
    if ran:
        click.echo(f"{out}: {ran} steps run now, {held} in all")
    else:
        click.echo(f"{out} already holds {held} steps (--steps {steps}): nothing run")


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@structure_argument
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="HDF5 file (.h5) that receives the samples; an existing one (same settings and model) is continued.",
)
@cells_option
@temperature_option
@click.option(
    "--steps",
    type=click.IntRange(1),
    required=True,
    help="Steps per chain in all (one step = one single-atom move per chain).",
)
@click.option(
    "--chains",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="Independent chains advanced together (vectorised).",
)
@click.option(
    "--step",
    "step_size",
    type=float,
    default=0.05,
    show_default=True,
    help="Starting move size in Å (each in-plane component uniform in ±step).",
)
@click.option(
    "--acceptance",
    type=float,
    default=0.4,
    show_default=True,
    help="Acceptance rate the step size is tuned to during equilibration.",
)
@click.option(
    "--equilibration",
    type=click.IntRange(0),
    default=2000,
    show_default=True,
    help="Steps per chain with step-size tuning; samples before them are not used for analysis.",
)
@click.option(
    "--sample-every",
    type=click.IntRange(1),
    default=None,
    help="Steps between stored samples [default: the number of atoms, one sweep].",
)
@seed_option
def mc(
    model: Path,
    structure: Path | None,
    out: Path,
    cells_text: str,
    temperature: float,
    steps: int,
    chains: int,
    step_size: float,
    acceptance: float,
    equilibration: int,
    sample_every: int | None,
    seed: int,
) -> None:
    """Metropolis Monte Carlo of STRUCTURE's atoms with MODEL's energy (single-atom in-plane moves).

    Each move re-renders only the pixels near the moved atom and re-evaluates only the
    tiles whose window they touch. Samples (positions, energies) go to OUT as they are made;
    after an interruption run the same command again and it continues from the last one.
    """
    require_model_file(model)
    _check_structure(structure)
    require_suffix(out, (".h5", ".hdf5"))
    _check_positive(temperature, "temperature", "K")
    _check_positive(step_size, "MC step", "Å")
    if not 0 < acceptance < 1:
        raise EDNNError(f"target acceptance must lie strictly between 0 and 1, got {acceptance}")
    with output_place(out):
        from ednn.io.model_file import load
        from ednn.simulate.montecarlo import run_atom_mc

        summary = run_atom_mc(
            load(model),
            _starting_structure(structure, cells_text),
            out,
            temperature_K=temperature,
            steps=steps,
            chains=chains,
            step=step_size,
            target_acceptance=acceptance,
            equilibration=equilibration,
            sample_every=sample_every,
            seed=seed,
        )
    rate = summary["acceptance"]
    click.echo(
        f"{out}: {summary['steps_run']} steps per chain run now; step {summary['step_size']:.4f} Å, "
        + (
            "no steps after equilibration (no acceptance rate to report; --steps beyond --equilibration give one)"
            if rate is None or math.isnan(rate)
            else f"acceptance after equilibration {rate:.3f}"
        )
    )
