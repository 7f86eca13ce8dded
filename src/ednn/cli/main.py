"""The `ednn` command: generate data, train, evaluate, predict, quickstart."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ednn.core.errors import EDNNError

if TYPE_CHECKING:
    from ednn.core.model import EDNN


def _int_list(text: str | None) -> list[int] | None:
    if text is None or text == "paper":
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers or 'paper', got {text!r}") from None


def _require_suffix(path: Path, suffixes: tuple[str, ...]) -> None:
    if path.suffix not in suffixes:
        raise EDNNError(f"{path}: the file name must end in {' or '.join(suffixes)}")


def _write_output(path: Path, text: str) -> None:
    """Write an output text file atomically (a temporary file renamed into place), creating
    missing parent folders."""
    from ednn.io.paths import make_parent

    make_parent(path)
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise EDNNError(f"cannot write {path}: {exc.strerror or exc}") from None


def _json_text(value: object) -> str:
    """Strict JSON (NaN and infinities as null) of a JSON-able value, indented, with a final newline."""
    def finite(v: object) -> object:
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [finite(x) for x in v]
        return v

    return json.dumps(finite(value), indent=1, allow_nan=False) + "\n"


def _ase_readable(path: Path) -> bool:
    """True if ASE reads files of this name (extxyz, traj, db, cif, POSCAR, OUTCAR, ...)."""
    from ase.io.formats import UnknownFileTypeError, filetype, ioformats

    try:
        name = filetype(str(path), read=False)
    except UnknownFileTypeError:
        return False
    return name in ioformats and ioformats[name].can_read


def _holds_structures(path: Path) -> bool:
    """True for an existing file of atomic structures: an ednn structure or giant-structure
    file, or a file whose name ASE reads."""
    from ednn.io.structures import is_structure_file
    from ednn.io.giant import is_giant_file

    return path.is_file() and (is_structure_file(path) or is_giant_file(path) or _ase_readable(path))


def _holds_grids(path: Path) -> bool:
    """True for an existing .npz file or an HDF5 file with an 'x' dataset (grid data)."""
    import h5py

    if path.suffix == ".npz":
        return path.is_file()
    if path.suffix not in (".h5", ".hdf5") or not path.is_file():
        return False
    try:
        with h5py.File(path, "r", locking=False) as handle:
            return isinstance(handle.get("x"), h5py.Dataset)
    except OSError:
        return False


def _check_data_kind(loaded: EDNN, model: Path, data: Path) -> None:
    """Refuse atomic structures for a grid model and grids for an atom model, in one line."""
    if loaded.imaging is None and _holds_structures(data):
        raise EDNNError(f"{data} is a structure file; {model} is a grid model (trained on grids) — use an atom model")
    if loaded.imaging is not None and _holds_grids(data):
        raise EDNNError(f"{data} is a grid file; {model} is an atom model (trained on atomic structures) "
                        "— use a grid model")


def _check_energy_method(loaded: EDNN, model: Path, data: Path) -> None:
    """Refuse reference energies of another method than the one MODEL was trained on, when
    both MODEL and the structure file DATA name their method ('imported' names none)."""
    from ednn.io.structures import StructureFile, is_structure_file

    trained = loaded.info.get("data", {}).get("energy_method")
    labelled = StructureFile(data).attrs.get("energy_method") if is_structure_file(data) else None
    trained, labelled = (None if m in (None, "imported", "unknown") else str(m) for m in (trained, labelled))
    if trained and labelled and labelled != trained:
        raise EDNNError(f"{data} holds {labelled} energies but {model} was trained on {trained} energies; "
                        "errors against another method mean nothing (to compare anyway, `ednn import` the structures "
                        "from an extxyz file: imported energies name no method)")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ednn")
def main() -> None:
    """Extensive deep neural networks: learn an extensive quantity (energy,
    magnetisation, ...) of periodic grids from small examples, predict it on
    grids of any size.

    Start with `ednn quickstart`; see `ednn COMMAND --help` for each step.
    """


@main.group()
def ising() -> None:
    """Ising-model data (paper §3.1): periodic L×L lattices, J = 1."""


@ising.command("generate")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--size", "-L", type=click.IntRange(2), default=8, show_default=True,
              help="Lattice edge L in spins (even: the Metropolis sweeps are checkerboard).")
@click.option("--n", "-n", "n_configs", type=click.IntRange(1), default=100_000, show_default=True,
              help="Number of configurations.")
@click.option("--t-min", default=1.0, show_default=True, help="Lowest temperature (J/k_B).")
@click.option("--t-max", default=5.0, show_default=True, help="Highest temperature (J/k_B).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Random seed; same seed, same file.")
@click.option("--chunk-size", type=click.IntRange(1), default=1000, show_default=True,
              help="Configurations per resumable chunk.")
@click.option("--even-energies", is_flag=True, help="Select configurations so energies are spread evenly.")
def ising_generate(out: Path, size: int, n_configs: int, t_min: float, t_max: float, seed: int,
                   chunk_size: int, even_energies: bool) -> None:
    """Monte Carlo Ising configurations (Metropolis + Wolff) into an HDF5 file OUT.

    OUT holds x (int8 spins ±1, N×L×L), energy (E = −Σ over nearest-neighbour bonds
    s_i·s_j, J = 1, periodic; 2L² bonds) and T (k_B = 1). Temperatures are uniform in
    [t-min, t-max]; each configuration comes from its own chain (20 + 2L sweeps of
    equilibration, Wolff cluster moves between sweeps). Interrupted? Run the same
    command again: it resumes where it stopped.
    """
    from ednn.systems.ising import generate_ising_dataset

    _require_suffix(out, (".h5", ".hdf5"))
    generate_ising_dataset(out, size=size, n_configs=n_configs, t_min=t_min, t_max=t_max, seed=seed,
                           chunk_size=chunk_size, even_energies=even_energies, progress=True)
    click.echo(f"wrote {out}")


_TRANSITION_RATE = 3.3e7
"""Spin-flip proposals per second of `ising transition` on one core, measurements included
(docs/ising.md, L = 16-64; smaller lattices run slower): for the run-time estimate."""


@ising.command("transition")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sizes", default="16,32,64", show_default=True,
              help="Lattice edges L, comma-separated, at least two; each a whole number of focus regions.")
@click.option("--t-min", default=1.5, show_default=True, help="Lowest temperature of the curves (J/k_B).")
@click.option("--t-max", default=3.5, show_default=True, help="Highest temperature of the curves (J/k_B).")
@click.option("--t-step", default=0.1, show_default=True, help="Step of the curves' temperature grid.")
@click.option("--fine-min", default=2.24, show_default=True, help="Lowest temperature of the Binder crossing.")
@click.option("--fine-max", default=2.30, show_default=True, help="Highest temperature of the Binder crossing.")
@click.option("--fine-step", default=0.01, show_default=True, help="Step of the crossing temperatures.")
@click.option("--effort", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
              help="Scales the number of chains: error bars shrink as 1/sqrt(effort), run time grows with it.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True, help="Random seed; same seed, same numbers.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write every observable, error bar and crossing to this JSON file.")
@click.option("--plots", type=click.Path(path_type=Path), default=None,
              help="Write PREFIX-energy.png, -abs-magnetisation, -specific-heat, -susceptibility, -binder.")
def ising_transition(model: Path, sizes: str, t_min: float, t_max: float, t_step: float, fine_min: float,
                     fine_max: float, fine_step: float, effort: float, seed: int, json_out: Path | None,
                     plots: Path | None) -> None:
    """The Ising phase transition with MODEL as the Monte Carlo energy, beside the exact energy.

    MODEL must be a 2-D one-channel model of ±1 spins with tiles of at most 16 pixels
    (e.g. f=1, c=1): its tile network is evaluated once on every tile configuration and
    the table drives single-spin Metropolis on periodic L×L lattices, many independent
    chains at once; the same sampler then runs with the exact energy (J = 1). Prints Tc
    from the Binder-cumulant crossing of each pair of consecutive sizes, with jackknife
    error bars over groups of chains, beside Onsager's 2/ln(1+√2) ≈ 2.2692. The defaults
    take about 15 minutes on one core (docs/ising.md); NaN results come with a line on why.
    """
    import ednn
    from ednn.systems.ising.tile_energy import TileEnergy
    from ednn.systems.ising.transition import (run_transition, sublattices, summary_lines, temperature_grid,
                                       transition_stages)
    from ednn.io.paths import make_parent

    size_list = _int_list(sizes)
    if not size_list or len(size_list) < 2:
        raise click.BadParameter(f"give at least two sizes, e.g. 16,32,64; got {sizes!r}", param_hint="--sizes")
    model_energy, exact = TileEnergy.from_model(ednn.load(model)), TileEnergy.exact()
    fine = temperature_grid(fine_min, fine_max, fine_step)
    stages = transition_stages(size_list, temperature_grid(t_min, t_max, t_step), fine, effort)
    for energy in (model_energy, exact):  # refuse unusable sizes before announcing the run
        for size in size_list:
            sublattices(energy.focus, energy.context, size)
    for path in (json_out, plots):  # a bad output path fails now, not after the run
        if path is not None:
            make_parent(path)
    minutes = 2 * sum(stage.proposals for stage in stages) / _TRANSITION_RATE / 60
    click.echo(f"sampling L = {', '.join(map(str, sorted(size_list)))}: {len(stages)} stages with the model's "
               "energy, then the same with the exact energy "
               f"({'about ' + format(minutes, '.0f') + ' minutes' if minutes >= 2 else 'a minute or so'} on one core)",
               err=True)
    terminal = sys.stderr.isatty()
    result = run_transition(model_energy, stages, fine, exact=exact, seed=seed, progress=terminal,
                            on_stage=None if terminal else lambda line: click.echo(line, err=True))
    click.echo("\n".join(summary_lines(result)))
    if json_out is not None:
        _write_output(json_out, _json_text(result))
        click.echo(f"wrote {json_out}")
    if plots is not None:
        from ednn.analysis.plots import transition_plots

        for path in transition_plots(result, plots):
            click.echo(f"wrote {path}")


@main.command()
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Model file to write (.safetensors).")
@click.option("--focus", "-f", type=click.IntRange(1), default=None,
              help="Focus f: edge of each tile's own region (pixels) [default: 1; atoms 16].")
@click.option("--context", "-c", type=click.IntRange(0), default=None,
              help="Context c: pixels of surroundings each tile sees on every side [default: 1; atoms 8].")
@click.option("--net", type=click.Choice(["dense", "paper_cnn", "lean_cnn", "atom_cnn", "local_density"]), default=None,
              help="Tile network: dense (fully connected, the paper's Ising net), paper_cnn (the paper's "
                   "13-convolution net for atom images, tile edge a multiple of 8), lean_cnn (a small strided CNN "
                   "with a position-blind mean), atom_cnn (strided CNN + dense, smooth), local_density (a "
                   "translation-equivariant density summed over the focus; f and c multiples of 4; fast and "
                   "the most accurate for atoms) [default: dense].")
@click.option("--grid", default="64x64", show_default=True,
              help="Atoms only: pixels NXxNY of the training cell; fixes the model's pixel size.")
@click.option("--z-weighted", is_flag=True,
              help="Atoms only: one image channel weighted by atomic number (the paper's images) "
                   "instead of one channel per element.")
@click.option("--gamma", type=click.FloatRange(0, min_open=True), default=0.2, show_default=True,
              help="Atoms only: Gaussian width γ of each atom (Å).")
@click.option("--fixed-placement", is_flag=True,
              help="Atoms only: train on the structures where they are, instead of moving each by a random "
                   "in-plane translation (anew every epoch); faster to fit, but the model then only knows "
                   "that placement of the lattice on the pixel grid.")
@click.option("--huber", type=click.FloatRange(0, min_open=True), default=None,
              help="Atoms only: train on the Huber loss with this threshold (in units of the fitted energy "
                   "scale, e.g. 0.1) instead of the MSE, so a few wrong reference labels cannot dominate.")
@click.option("--augment", is_flag=True,
              help="Atoms only: shift each batch periodically by random whole pixels and flip it "
                   "(energies are invariant); slower to learn, less tied to the training lattice.")
@click.option("--hidden", default=None,
              help="Hidden sizes of the dense net, or 'paper' for the paper's 32·t², 64, 64 (t = f + 2c) "
                   "[default: 64,64; atoms 256,64 with SiLU]; for lean_cnn, atom_cnn and local_density one "
                   "number, the width of their dense (1×1) layer [default: 64, 64, 128].")
@click.option("--widths", default=None,
              help="Convolution widths of lean_cnn, atom_cnn (one per convolution) and local_density (its "
                   "two stem convolutions), e.g. 48,96 [default: 16,32,32,32; 16,32,64; 32,64].")
@click.option("--charge-equilibration", is_flag=True,
              help="Total = Σ tile energies − charge-equilibration energy: every site (density cell or tile) also "
                   "gets an electronegativity and a softness, and charge flows between all sites until they "
                   "equalise (ednn.core.readout). Couples the whole structure, stays extensive; for metallic systems.")
@click.option("--init", "init", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Start from the weights and energy scaling of this trained model (fine-tuning, e.g. with "
                   "a lower --lr on more data); the other options must describe the same network and images.")
@click.option("--extra-train", type=click.Path(dir_okay=False, path_type=Path), multiple=True,
              help="Atoms: another labelled structure file (same cell, same energy method) whose structures all "
                   "join the training split; DATA's validation and test splits stay as they are. Repeatable.")
@click.option("--target", default="energy", show_default=True, help="Dataset in DATA holding the extensive target.")
@click.option("--ndim", type=click.IntRange(1), default=None,
              help="Number of spatial axes of x [default: all after N, except a trailing axis of size 1 "
                   "or one that would make more than 3 spatial axes, which is read as channels]. "
                   "Give it for (N, L1, L2, C) data with C > 1.")
@click.option("--padding", type=click.Choice(["periodic", "zeros"]), default="periodic", show_default=True,
              help="How tiles see past the edge: periodic images, or zeros for open boundaries.")
@click.option("--epochs", type=click.IntRange(1), default=100, show_default=True,
              help="Passes over the training split; the learning rate decays over all of them.")
@click.option("--batch-size", type=click.IntRange(1), default=None,
              help="Examples per step [default: 2000; atoms 32].")
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=1e-3, show_default=True,
              help="Initial Adam learning rate.")
@click.option("--lr-min", type=click.FloatRange(0, min_open=True), default=1e-6, show_default=True,
              help="Final learning rate of the cosine decay.")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Seed for the split, initial weights and shuffling.")
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.1,
              show_default=True, help="Share of DATA held out to monitor training.")
@click.option("--test-fraction", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Share of DATA held out for the final test errors.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Grids only: use only the first N examples of DATA.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Checkpoints and logs [default: runs/<model name>].")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
def train(data: Path, out: Path, focus: int | None, context: int | None, net: str | None, grid: str,
          z_weighted: bool, gamma: float, fixed_placement: bool, huber: float | None, augment: bool, hidden: str | None,
          widths: str | None, charge_equilibration: bool, init: Path | None, extra_train: tuple[Path, ...],
          target: str, ndim: int | None,
          padding: str, epochs: int, batch_size: int | None, lr: float, lr_min: float, seed: int,
          val_fraction: float, test_fraction: float, limit: int | None, run_dir: Path | None,
          resume: bool) -> None:
    """Train an EDNN on the grids or the labelled atomic structures in DATA.

    Grids: .h5/.npz with x (N, *spatial) or (N, *spatial, C) and the target (default
    `energy`, (N,), in any unit — predictions come back in it).

    Atoms: an ednn structure file (`ednn sheets generate` + `ednn label`, or `ednn
    import` of your own DFT data); energies in eV. Every training cell has the same
    in-plane size, rendered on --grid pixels (Gaussian images, paper eq. 2); the model
    then predicts cells of any size that are whole numbers of its focus regions.

    The loss is the MSE of each example's summed tile contributions. A checkpoint is
    written every epoch; after an interruption run the same command with --resume.
    Test-split errors are printed and stored in MODEL.
    """
    from ednn.io.structures import is_structure_file
    from ednn.train.workflow import train_on_file

    _require_suffix(out, (".safetensors",))
    run_dir = run_dir or Path("runs") / out.stem
    net = net or "dense"
    options = _cnn_options(net, hidden, widths)
    readout = "qeq" if charge_equilibration else None
    if is_structure_file(data):
        from ednn.train.structures import train_on_structures

        ignored = [name for name, value, default in (("--limit", limit, None), ("--target", target, "energy"),
                                                     ("--ndim", ndim, None), ("--padding", padding, "periodic"))
                   if value != default]
        if ignored:
            raise EDNNError(f"{', '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not apply to atomic "
                            "structures (energies in eV, periodic 2-D images)")
        from ednn.cli.atoms import parse_pair

        model = train_on_structures(
            data, out, run_dir, grid=parse_pair(grid), focus=16 if focus is None else focus,
            context=8 if context is None else context, net=net, net_options=_atom_net_options(net, hidden, options),
            per_element=not z_weighted, init=init, readout=readout, extra_train=extra_train,
            gamma=gamma, augment=augment, translate=not fixed_placement, huber=huber, epochs=epochs, batch_size=batch_size or 32, lr=lr, lr_min=lr_min, seed=seed,
            val_fraction=val_fraction, test_fraction=test_fraction, resume=resume, progress=True)
        click.echo(f"wrote {out} (run folder {run_dir})")
        _print_atom_summary(model.info["test_metrics"], "test split")
        return
    if data.is_file() and _ase_readable(data):
        raise EDNNError(f"{data} holds atomic structures in a format ASE reads; convert them first with "
                        f"`ednn import {data} OUT.h5`, then train on OUT.h5")
    ignored = [name for name, value, default in (("--grid", grid, "64x64"), ("--z-weighted", z_weighted, False),
                                                 ("--gamma", gamma, 0.2), ("--fixed-placement", fixed_placement, False),
                                                 ("--augment", augment, False), ("--huber", huber, None),
                                                 ("--extra-train", extra_train, ()))
               if value != default]
    if ignored:
        raise EDNNError(f"{', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} only to atomic "
                        f"structures; {data} holds grids")
    focus, context, batch_size = focus or 1, 1 if context is None else context, batch_size or 2000
    model = train_on_file(data, out, run_dir, focus=focus, context=context, net=net,
                          hidden=_int_list(hidden or "64,64") if net == "dense" else None, net_options=options,
                          init=init, readout=readout, ndim=ndim,
                          padding=padding, epochs=epochs,
                          batch_size=batch_size, lr=lr, lr_min=lr_min, seed=seed,
                          val_fraction=val_fraction, test_fraction=test_fraction, limit=limit,
                          target=target, resume=resume, progress=True)
    click.echo(f"wrote {out} (run folder {run_dir})")
    _print_summary(model.info["test_metrics"], "test split")


def _cnn_options(net: str, hidden: str | None, widths: str | None) -> dict:
    """Constructor options of a convolutional tile net from --hidden (one number) and --widths."""
    if net == "dense":
        if widths is not None:
            raise EDNNError("--widths applies to the convolutional tile nets (lean_cnn, atom_cnn, local_density)")
        return {}
    if net == "paper_cnn" and (hidden, widths) != (None, None):
        raise EDNNError("paper_cnn has the paper's fixed shape; --hidden and --widths do not apply")
    options: dict = {}
    if widths is not None:
        options["widths"] = _int_list(widths)
    if hidden is not None:
        sizes = _int_list(hidden)
        if sizes is None or len(sizes) != 1:
            raise EDNNError(f"--hidden for {net} is one number (the width of its dense layer), got {hidden!r}")
        options["hidden"] = sizes[0]
    return options


def _atom_net_options(net: str, hidden: str | None, cnn_options: dict) -> dict | None:
    """Tile-net options for atoms: the dense net's --hidden with SiLU (smooth forces), or None
    for its atom default; a convolutional net's `_cnn_options`."""
    if net != "dense":
        return cnn_options
    return None if hidden is None else {"hidden": _int_list(hidden), "activation": "silu"}


def _print_atom_summary(summary: dict, label: str) -> None:
    if not summary:
        return
    click.echo(f"{label}: {summary['n']} structures")
    for stat in ("median", "mean"):
        click.echo(f"  {stat:6} |error| {summary[f'{stat}_abs_meV_per_A2']:.4g} meV/Å²   "
                   f"{summary[f'{stat}_abs_meV_per_atom']:.4g} meV/atom   {summary[f'{stat}_abs_eV']:.4g} eV/structure")
    if "seconds_per_structure" in summary:
        click.echo(f"  {1000 * summary['seconds_per_structure']:.3g} ms per structure")


def _print_summary(summary: dict, label: str) -> None:
    if not summary:
        return
    n_sites = summary.get("n_sites")
    click.echo(f"{label}: {summary['n']} examples")
    click.echo(f"  median |error| per system {summary['median_abs_per_system']:.4g}   per site {summary['median_abs_per_site']:.3g}")
    click.echo(f"  mean   |error| per system {summary['mean_abs_per_system']:.4g}   per site {summary['mean_abs_per_site']:.3g}")
    if n_sites:
        click.echo(f"  {n_sites} sites per example, {summary['sites_per_second']:.3g} sites/s")


_placements_option = click.option(
    "--placements", type=click.IntRange(1), default=1, show_default=True,
    help="Atom models: average each structure's prediction over this many in-plane translations spread over one "
         "focus region (removes most of the model's dependence on where the pixel grid lies; costs that many "
         "evaluations).")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--split", type=click.Choice(["test", "val", "train"]), default=None,
              help="Evaluate only this split of the model's own training file.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write parity and error plots to this PNG.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the error summary as JSON.")
@_placements_option
def evaluate(model: Path, data: Path, split: str | None, plot: Path | None, json_out: Path | None,
             placements: int) -> None:
    """Errors of MODEL on the labelled grids or structures in DATA.

    Grid models: DATA (.h5/.npz) holds x and the model's target dataset (usually
    `energy`); errors per system and per site, in the target's unit. Atom models: DATA
    is an ednn structure file or any ASE-readable file with energies (extxyz, ASE db,
    OUTCAR); errors in meV/Å², meV/atom and eV per structure.
    """
    import ednn
    from ednn.analysis.plots import parity_plot
    from ednn.io.paths import make_parent
    from ednn.io.giant import is_giant_file
    from ednn.train.workflow import evaluate_on_file, file_digest

    loaded = ednn.load(model)
    _check_data_kind(loaded, model, data)
    _check_energy_method(loaded, model, data)
    if loaded.imaging is not None and is_giant_file(data):
        raise EDNNError(f"{data} is a giant-structure file: these carry no reference energies to evaluate against; "
                        "use `ednn predict MODEL DATA` (and `ednn porous exact DATA` for its REBO energy)")
    label = f"{data.name}{' (' + split + ' split)' if split else ''}"
    if loaded.imaging is not None:
        from ednn.train.structures import evaluate_structure_file

        result = evaluate_structure_file(loaded, data, split, placements)
        summary = result["summary"]
        _print_atom_summary(summary, label)
        sites, quantity, unit, site = result["n_atoms"], "energy", "eV", "atom"
    else:
        if placements != 1:
            raise EDNNError("--placements applies to atom models only")
        result = evaluate_on_file(loaded, data, split)
        summary = result["summary"]
        _print_summary(summary, label)
        quantity = loaded.info.get("data", {}).get("target", "energy")
        sites, unit, site = summary["n_sites"], "J" if quantity == "energy" else "", "site"
    trained_on = loaded.info.get("data", {}).get("sha256_16")
    if split is None and trained_on and file_digest(data) == trained_on:
        click.echo(f"note: {data.name} is this model's training file, so most of these examples were trained on; "
                   "`--split test` gives the held-out ones", err=True)
    if plot:
        make_parent(plot)
        parity_plot(result["predicted"], result["true"], sites, plot,
                    f"{model.name} on {data.name}", quantity=quantity, unit=unit, site=site)
        click.echo(f"wrote {plot}")
    if json_out:
        _write_output(json_out, _json_text(summary))
        click.echo(f"wrote {json_out}")


@main.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write index,prediction rows to this CSV instead of printing.")
@click.option("--workers", type=click.IntRange(1), default=None,
              help="Giant structures: evaluate the blocks on a local Dask cluster of this many processes.")
@click.option("--scheduler", default=None, help="Giant structures: a running Dask scheduler, e.g. tcp://host:8786 "
                                                "(its workers must see DATA at the same path).")
@click.option("--block-pixels", type=click.IntRange(1), default=None,
              help="Giant structures: block edge in pixels, rounded to whole focus regions [default: 1024].")
@_placements_option
def predict(model: Path, data: Path, csv_out: Path | None, workers: int | None, scheduler: str | None,
            block_pixels: int | None, placements: int) -> None:
    """Predict the total of each grid or structure in DATA with MODEL.

    Grid models: DATA is .h5/.npz holding x. Atom models: DATA is an ednn structure
    file, a giant-structure file (`ednn-giant-v1`, evaluated block by block in bounded
    memory, on Dask with --workers/--scheduler), or any file ASE can read (extxyz, POSCAR,
    ASE db, OUTCAR, ...); totals in eV. One line (or CSV row) per grid or structure, in
    the unit of the model's target.
    """
    import ednn
    from ednn.io.grids import read_grids
    from ednn.io.giant import is_giant_file

    loaded = ednn.load(model)
    _check_data_kind(loaded, model, data)
    giant = loaded.imaging is not None and is_giant_file(data)
    if (workers or scheduler or block_pixels) and not giant:
        raise EDNNError("--workers, --scheduler and --block-pixels apply to giant-structure files only")
    if placements != 1 and (giant or loaded.imaging is None):
        raise EDNNError("--placements applies to atom models on ordinary structure files only")
    if giant:
        import numpy as np

        from ednn.scale.run import giant_energy

        totals = np.array([giant_energy(loaded, data, workers=workers, scheduler=scheduler,
                                        block_pixels=block_pixels)])
    elif loaded.imaging is not None:
        from ednn.io.structures import read_structures

        totals = loaded.predict_atoms(read_structures(data)[0], placements)
    else:
        totals = loaded.predict(read_grids(data, target=None)[0])
    rows = totals.reshape(len(totals), -1)
    names = loaded.targets if rows.shape[1] == len(loaded.targets) else [f"y{i}" for i in range(rows.shape[1])]
    if csv_out:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["index", *names])
        writer.writerows([i, *(repr(float(v)) for v in row)] for i, row in enumerate(rows))
        _write_output(csv_out, text.getvalue())
        click.echo(f"wrote {len(rows)} predictions to {csv_out}")
    else:
        for row in rows:
            click.echo(" ".join(f"{v:.10g}" for v in row))


@main.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
def info(model: Path) -> None:
    """Show what MODEL is: geometry, network and its parameter count, scaling, training data
    and metrics (JSON)."""
    from ednn.io.model_file import load, model_config

    loaded = load(model)
    config = model_config(loaded)
    config["net"]["parameters"] = sum(p.numel() for p in loaded.net.parameters())
    click.echo(json.dumps(config, indent=2))


@main.command()
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/quickstart"),
              show_default=True, help="Folder for data, model, plots and the table.")
@click.option("--epochs", type=click.IntRange(1), default=300, show_default=True,
              help="Training epochs (about 0.2 s each).")
@click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
              help="Seed for the data, the split and the training.")
def quickstart(run_dir: Path, epochs: int, seed: int) -> None:
    """Train on 8×8 Ising configurations, predict 128×128 ones near Tc (about 2 minutes).

    Generates 20 000 Monte Carlo 8×8 configurations, trains an f=1, c=1 EDNN,
    evaluates it on held-out 8×8 configurations and on 128×128 ones it never saw,
    prints a table and saves parity plots. Interrupted? Run it again: finished
    steps are reused and training resumes from its last checkpoint.
    """
    from ednn.cli.quickstart import run_quickstart

    run_quickstart(run_dir, epochs=epochs, seed=seed, echo=click.echo)


def _add_atom_commands() -> None:
    from ednn.cli.atoms import import_structures, label, sheets
    from ednn.cli.porous import porous
    from ednn.cli.simulate import SIMULATION_COMMANDS

    main.add_command(sheets)
    main.add_command(porous)
    for command in SIMULATION_COMMANDS:
        main.add_command(command)
    main.add_command(label)
    main.add_command(import_structures)


_add_atom_commands()


def run() -> None:
    """Entry point: one-line errors instead of tracebacks for user mistakes."""
    try:
        main(standalone_mode=False)
    except EDNNError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted: run the same command again to resume (add --resume for `ednn train`)", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
