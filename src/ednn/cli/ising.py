"""`ednn ising`: Ising-model data and the phase transition with a trained model as energy."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from ednn.cli.arguments import int_list
from ednn.cli.data_checks import require_model_file
from ednn.cli.output import json_text, require_suffix, write_output


@click.group()
def ising() -> None:
    """Ising-model data (paper §3.1): periodic L×L (or L×L×L) lattices, J = 1."""


@ising.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--size",
    "-L",
    type=click.IntRange(2),
    default=8,
    show_default=True,
    help="Lattice edge L in spins (even: the Metropolis sweeps are checkerboard).",
)
@click.option(
    "--n",
    "-n",
    "n_configs",
    type=click.IntRange(1),
    default=100_000,
    show_default=True,
    help="Number of configurations.",
)
@click.option("--t-min", default=1.0, show_default=True, help="Lowest temperature (J/k_B).")
@click.option("--t-max", default=5.0, show_default=True, help="Highest temperature (J/k_B).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Random seed; same seed, same file.")
@click.option(
    "--chunk-size", type=click.IntRange(1), default=1000, show_default=True, help="Configurations per resumable chunk."
)
@click.option("--even-energies", is_flag=True, help="Select configurations so energies are spread evenly.")
@click.option(
    "--dim",
    type=click.IntRange(2, 3),
    default=2,
    show_default=True,
    help="Spatial dimensions: 2 (square L×L, Tc ≈ 2.269) or 3 (cubic L×L×L, Tc ≈ 4.5115).",
)
def ising_generate(
    out: Path,
    size: int,
    n_configs: int,
    t_min: float,
    t_max: float,
    seed: int,
    chunk_size: int,
    even_energies: bool,
    dim: int,
) -> None:
    """Monte Carlo Ising configurations (Metropolis + Wolff) into an HDF5 file OUT.

    OUT holds x (int8 spins ±1, N×L×L, or N×L×L×L with --dim 3), energy (E = −Σ over
    nearest-neighbour bonds s_i·s_j, J = 1, periodic; 2L² bonds, 3L³ in 3-D) and T
    (k_B = 1); its attribute dim records the dimension. Temperatures are uniform in
    [t-min, t-max]; each configuration comes from its own chain (20 + 2L sweeps of
    equilibration, Wolff cluster moves between sweeps). Interrupted? Run the same
    command again: it resumes where it stopped.
    """
    require_suffix(out, (".h5", ".hdf5"))
    from ednn.systems.ising.dataset import generate_ising_dataset

    generate_ising_dataset(
        out,
        size=size,
        n_configs=n_configs,
        t_min=t_min,
        t_max=t_max,
        seed=seed,
        chunk_size=chunk_size,
        even_energies=even_energies,
        progress=True,
        dim=dim,
    )
    click.echo(f"wrote {out}")


@ising.command("transition")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--sizes",
    default="16,32,64",
    show_default=True,
    help="Lattice edges L, comma-separated, at least two; each a whole number of focus regions.",
)
@click.option("--t-min", default=1.5, show_default=True, help="Lowest temperature of the curves (J/k_B).")
@click.option("--t-max", default=3.5, show_default=True, help="Highest temperature of the curves (J/k_B).")
@click.option("--t-step", default=0.1, show_default=True, help="Step of the curves' temperature grid.")
@click.option("--fine-min", default=2.24, show_default=True, help="Lowest temperature of the Binder crossing.")
@click.option("--fine-max", default=2.30, show_default=True, help="Highest temperature of the Binder crossing.")
@click.option("--fine-step", default=0.01, show_default=True, help="Step of the crossing temperatures.")
@click.option(
    "--effort",
    type=click.FloatRange(0, min_open=True),
    default=1.0,
    show_default=True,
    help="Scales the number of chains: error bars shrink as 1/sqrt(effort), run time grows with it.",
)
@click.option(
    "--seed", type=click.IntRange(0), default=0, show_default=True, help="Random seed; same seed, same numbers."
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every observable, error bar and crossing to this JSON file.",
)
@click.option(
    "--plots",
    type=click.Path(path_type=Path),
    default=None,
    help="Write PREFIX-energy.png, -abs-magnetisation, -specific-heat, -susceptibility, -binder.",
)
def ising_transition(
    model: Path,
    sizes: str,
    t_min: float,
    t_max: float,
    t_step: float,
    fine_min: float,
    fine_max: float,
    fine_step: float,
    effort: float,
    seed: int,
    json_out: Path | None,
    plots: Path | None,
) -> None:
    """The Ising phase transition with MODEL as the Monte Carlo energy, beside the exact energy.

    MODEL must be a 2-D one-channel model of ±1 spins with tiles of at most 16 pixels
    (e.g. f=1, c=1): its tile network is evaluated once on every tile configuration and
    the table drives single-spin Metropolis on periodic L×L lattices, many independent
    chains at once; the same sampler then runs with the exact energy (J = 1). Prints Tc
    from the Binder-cumulant crossing of each pair of consecutive sizes, with jackknife
    error bars over groups of chains, beside Onsager's 2/ln(1+√2) ≈ 2.2692. The defaults
    take about 15 minutes on one core (docs/ising.md); NaN results come with a line on why.
    """
    size_list = int_list(sizes)
    if len(size_list) < 2:
        raise click.BadParameter(f"give at least two sizes, e.g. 16,32,64; got {sizes!r}", param_hint="--sizes")
    require_model_file(model)
    import ednn
    from ednn.io.paths import make_parent
    from ednn.systems.ising.sampler import sublattices
    from ednn.systems.ising.tile_energy import TileEnergy
    from ednn.systems.ising.transition import (
        estimate_seconds,
        run_transition,
        temperature_grid,
        transition_stages,
    )
    from ednn.systems.ising.transition_report import summary_lines

    model_energy, exact = TileEnergy.from_model(ednn.load(model)), TileEnergy.exact()
    fine = temperature_grid(fine_min, fine_max, fine_step)
    stages = transition_stages(size_list, temperature_grid(t_min, t_max, t_step), fine, effort)
    for energy in (model_energy, exact):  # refuse unusable sizes before announcing the run
        for size in size_list:
            sublattices(energy.focus, energy.context, size)
    for path in (json_out, plots):  # a bad output path fails now, not after the run
        if path is not None:
            make_parent(path)
    warm_up = time.perf_counter()
    seconds = estimate_seconds(model_energy, stages, exact=exact)
    warm_up = time.perf_counter() - warm_up
    click.echo(
        f"sampling L = {', '.join(map(str, sorted(size_list)))}: {len(stages)} stages with the model's "
        f"energy, then the same with the exact energy (about {_duration(seconds)} here, "
        f"from {warm_up:.1f} s of timed sweeps)",
        err=True,
    )
    terminal = sys.stderr.isatty()
    result = run_transition(
        model_energy,
        stages,
        fine,
        exact=exact,
        seed=seed,
        progress=terminal,
        on_stage=None if terminal else lambda line: click.echo(line, err=True),
    )
    click.echo("\n".join(summary_lines(result)))
    if json_out is not None:
        write_output(json_out, json_text(result), inputs=(model,))
        click.echo(f"wrote {json_out}")
    if plots is not None:
        from ednn.systems.ising.plots import transition_plots

        for path in transition_plots(result, plots):
            click.echo(f"wrote {path}")


def _duration(seconds: float) -> str:
    """seconds as '40 s', '3 minutes' or '1.5 hours'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"
