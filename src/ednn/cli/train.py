"""`ednn train`: an EDNN from grids or from labelled atomic structures.

Options that apply to one kind of data only are declared with `kind_option`; the defaults
that differ between the kinds are the training functions' own (their signatures), and a tile
network's options are its constructor's (`ednn.cli.net_options`): `--help` reads them there.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ednn.cli.arguments import parse_pair, schedule_options
from ednn.cli.data_checks import require_file
from ednn.cli.net_options import options_text, parse_net_options, shown, tile_nets
from ednn.cli.output import output_place, print_atom_summary, print_grid_summary, require_suffix
from ednn.core.errors import EDNNError

GRIDS, ATOMS = "grids", "atoms"

GRID_GEOMETRY = {"focus": 1, "context": 1}
"""Focus and context of grid models when -f/-c are not given (`train_on_file` has no defaults for them)."""

BY_KIND = ("focus", "context", "batch_size", "net", "accelerator", "devices")
"""Options passed on only when given: their defaults are the training function's of each kind of data."""


class KindOption(click.Option):
    """An option for one kind of data (`GRIDS` or `ATOMS`) only; its help says which."""

    def __init__(self, *args: Any, kind: str, **kwargs: Any):
        kwargs["help"] = f"{kind.capitalize()} only: {kwargs['help']}"
        super().__init__(*args, **kwargs)
        self.kind = kind


def kind_option(*decls: str, kind: str, **kwargs: Any) -> Callable:
    """`click.option` for an option of one kind of data only."""
    return click.option(*decls, cls=KindOption, kind=kind, **kwargs)


def trainers() -> dict[str, Callable]:
    """The training function of each kind of data."""
    from ednn.train.structures import train_on_structures
    from ednn.train.workflow import train_on_file

    return {GRIDS: train_on_file, ATOMS: train_on_structures}


def kind_defaults(kind: str) -> dict[str, Any]:
    """The defaults of the `BY_KIND` options for data of this kind."""
    parameters = inspect.signature(trainers()[kind]).parameters
    defaults = {
        **(GRID_GEOMETRY if kind == GRIDS else {}),
        **{name: p.default for name, p in parameters.items() if p.default is not p.empty},
    }
    return {name: defaults[name] for name in BY_KIND if name in defaults}


def default_net_options(kind: str) -> dict[str, dict]:
    """Tile-net options that training on this kind of data uses unless given, by net name."""
    if kind == GRIDS:
        return {}
    from ednn.train.structures import DEFAULT_NET_OPTIONS

    return DEFAULT_NET_OPTIONS


_UNGIVEN = (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)
"""Sources of an option's value that mean the user did not give it."""


def given_of_other_kind(ctx: click.Context, kind: str) -> list[str]:
    """The options given on the command line that apply only to the other kind of data."""
    return [
        max(param.opts, key=len)
        for param in ctx.command.params
        if isinstance(param, KindOption)
        and param.kind != kind
        and ctx.get_parameter_source(param.name) not in (None, *_UNGIVEN)
    ]


class TrainCommand(click.Command):
    """`ednn train`, whose help ends with the defaults of each kind of data and the tile
    networks with their options, read from the signatures when the help is shown."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        flags = {param.name: min(param.opts, key=len) for param in self.params if isinstance(param, click.Option)}
        with formatter.section("Defaults by kind of data"):
            rows = []
            for kind in (GRIDS, ATOMS):
                defaults = kind_defaults(kind)
                net_options = default_net_options(kind).get(defaults["net"], {})
                texts = [f"{flags[name]} {value}" for name, value in defaults.items()]
                if net_options:
                    texts[list(defaults).index("net")] += (
                        " with "
                        + ", ".join(f"{key}={shown(value)}" for key, value in net_options.items())
                        + " unless given"
                    )
                rows.append((kind, ", ".join(texts)))
            formatter.write_dl(rows)
            formatter.write_paragraph()
            formatter.write_text(
                "These defaults are starting points, not the recipes of the recommended "
                "models, which train for hours (models/README.md; e.g. "
                "benchmarks/train_hexsheets.sh hexsheets-gfn1xtb)."
            )
        with formatter.section("Tile networks (--net NAME) and their options (--net-option KEY=VALUE)"):
            formatter.write_dl(
                [(name, f"{_summary(net)} Options: {options_text(name)}.") for name, net in tile_nets().items()]
            )


def _summary(net: Callable) -> str:
    """The first paragraph of a tile network's docstring, on one line."""
    return " ".join((inspect.getdoc(net) or "").split("\n\n")[0].split())


@click.command(cls=TrainCommand)
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Model file to write (.safetensors).",
)
@click.option(
    "--focus",
    "-f",
    type=click.IntRange(1),
    default=None,
    help="Focus f: edge of each tile's own region (pixels) [default: by kind of data, below].",
)
@click.option(
    "--context",
    "-c",
    type=click.IntRange(0),
    default=None,
    help="Context c: pixels of surroundings each tile sees on every side [default: by kind of data].",
)
@click.option(
    "--net",
    default=None,
    help="Tile network, one of those below (dense: the paper's Ising net; local_density: f and c "
    "multiples of 4, the most accurate for atoms) [default: by kind of data].",
)
@click.option(
    "--net-option",
    "net_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the tile network's constructor (listed below with its default): VALUE is read as "
    "JSON (gain=0.05, widths=[48,96]) or, for lists, as comma-separated numbers (hidden=64,64, no "
    "shell quotes needed), else as text (activation=silu). Repeatable; a later KEY wins.",
)
@click.option(
    "--charge-equilibration",
    is_flag=True,
    help="Total = Σ tile energies − charge-equilibration energy: every site (density cell or tile) also "
    "gets an electronegativity and a softness, and charge flows between all sites until they "
    "equalise (ednn.core.readout). Couples the whole structure, stays extensive; for metallic systems.",
)
@click.option(
    "--init",
    "init",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Start from the weights and energy scaling of this trained model (fine-tuning, e.g. with "
    "a lower --lr on more data); the other options must describe the same network and images.",
)
@click.option(
    "--epochs",
    type=click.IntRange(1),
    default=100,
    show_default=True,
    help="Passes over the training split; the learning rate decays over all of them.",
)
@click.option(
    "--batch-size", type=click.IntRange(1), default=None, help="Examples per step [default: by kind of data]."
)
@schedule_options
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Checkpoints and logs [default: runs/<model name>].",
)
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its last checkpoint.")
@click.option(
    "--accelerator",
    type=click.Choice(["auto", "cpu", "gpu"]),
    default=None,
    help="Where Lightning trains: auto picks a GPU where there is one [default: by kind of data].",
)
@click.option(
    "--devices",
    type=click.IntRange(1),
    default=None,
    help="Processes or GPUs to train on (data-parallel, DDP, for more than one) [default: by kind of data].",
)
@kind_option(
    "--grid",
    kind=ATOMS,
    default="64x64",
    show_default=True,
    help="pixels NXxNY of the training cell; fixes the model's pixel size.",
)
@kind_option(
    "--z-weighted",
    kind=ATOMS,
    is_flag=True,
    help="one image channel weighted by atomic number (the paper's images) instead of one channel per element.",
)
@kind_option(
    "--gamma",
    kind=ATOMS,
    type=click.FloatRange(0, min_open=True),
    default=0.2,
    show_default=True,
    help="Gaussian width γ of each atom (Å).",
)
@kind_option(
    "--fixed-placement",
    kind=ATOMS,
    is_flag=True,
    help="train on the structures where they are, instead of moving each by a random in-plane "
    "translation (anew every epoch); faster to fit, but the model then only knows that placement "
    "of the lattice on the pixel grid.",
)
@kind_option(
    "--huber",
    kind=ATOMS,
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="train on the Huber loss with this threshold (in units of the fitted energy scale, e.g. 0.1) "
    "instead of the MSE, so a few wrong reference labels cannot dominate.",
)
@kind_option(
    "--augment",
    kind=ATOMS,
    is_flag=True,
    help="shift each batch periodically by random whole pixels and flip it (energies are invariant); "
    "slower to learn, less tied to the training lattice.",
)
@kind_option(
    "--extra-train",
    kind=ATOMS,
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    help="another labelled structure file (same cell, same energy method) whose structures all join the "
    "training split; DATA's validation and test splits stay as they are. Repeatable.",
)
@kind_option("--limit", kind=GRIDS, type=click.IntRange(1), default=None, help="use only the first N examples of DATA.")
@kind_option(
    "--target", kind=GRIDS, default="energy", show_default=True, help="dataset in DATA holding the extensive target."
)
@kind_option(
    "--ndim",
    kind=GRIDS,
    type=click.IntRange(1),
    default=None,
    help="number of spatial axes of x [default: all after N, except a trailing axis of size 1 or one "
    "that would make more than 3 spatial axes, which is read as channels]. Give it for "
    "(N, L1, L2, C) data with C > 1.",
)
@kind_option(
    "--padding",
    kind=GRIDS,
    type=click.Choice(["periodic", "zeros"]),
    default="periodic",
    show_default=True,
    help="how tiles see past the edge: periodic images, or zeros for open boundaries.",
)
@click.pass_context
def train(
    ctx: click.Context,
    data: Path,
    out: Path,
    net_option: tuple[str, ...],
    charge_equilibration: bool,
    init: Path | None,
    epochs: int,
    lr: float,
    lr_min: float,
    seed: int,
    val_fraction: float,
    test_fraction: float,
    run_dir: Path | None,
    resume: bool,
    grid: str,
    z_weighted: bool,
    gamma: float,
    fixed_placement: bool,
    huber: float | None,
    augment: bool,
    extra_train: tuple[Path, ...],
    limit: int | None,
    target: str,
    ndim: int | None,
    padding: str,
    **by_kind: Any,
) -> None:
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
    require_suffix(out, (".safetensors",))
    require_file(data, "data file")
    for path, what in ((init, "model file"), *((path, "structure file") for path in extra_train)):
        if path is not None:
            require_file(path, what)
    if val_fraction + test_fraction >= 1:
        raise EDNNError(
            f"--val-fraction {val_fraction:g} and --test-fraction {test_fraction:g} must sum to less than 1"
        )
    with output_place(out):  # a bad output path fails now, and a refused run leaves no folder
        from ednn.io.sniff import ase_readable
        from ednn.io.structures import is_structure_file

        run_dir = run_dir or Path("runs") / out.stem
        kind = ATOMS if is_structure_file(data) else GRIDS
        if kind == GRIDS and data.is_file() and ase_readable(data):
            raise EDNNError(
                f"{data} holds atomic structures in a format ASE reads; convert them first with "
                f"`ednn import {data} OUT.h5`, then train on OUT.h5"
            )
        wrong = given_of_other_kind(ctx, kind)
        if wrong and kind == ATOMS:
            raise EDNNError(
                f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to atomic "
                "structures (energies in eV, periodic 2-D images)"
            )
        if wrong:
            raise EDNNError(
                f"{', '.join(wrong)} {'applies' if len(wrong) == 1 else 'apply'} only to atomic "
                f"structures; {data} holds grids"
            )
        given = {name: value for name, value in by_kind.items() if value is not None}
        net = given.get("net", kind_defaults(kind)["net"])
        net_options = {**default_net_options(kind).get(net, {}), **parse_net_options(net, net_option)}
        common = dict(
            net_options=net_options,
            init=init,
            readout="qeq" if charge_equilibration else None,
            epochs=epochs,
            lr=lr,
            lr_min=lr_min,
            seed=seed,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            resume=resume,
            progress=True,
            **given,
        )
        if kind == ATOMS:
            model = trainers()[ATOMS](
                data,
                out,
                run_dir,
                grid=parse_pair(grid),
                per_element=not z_weighted,
                gamma=gamma,
                translate=not fixed_placement,
                huber=huber,
                augment=augment,
                extra_train=extra_train,
                **common,
            )
            click.echo(f"wrote {out} (run folder {run_dir})")
            print_atom_summary(model.info["test_metrics"], "test split")
        else:
            model = trainers()[GRIDS](
                data,
                out,
                run_dir,
                limit=limit,
                target=target,
                ndim=ndim,
                padding=padding,
                **{**GRID_GEOMETRY, **common},
            )
            click.echo(f"wrote {out} (run folder {run_dir})")
            print_grid_summary(model.info["test_metrics"], "test split")
