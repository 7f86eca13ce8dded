"""`ednn quickstart`, the README's main job: 8×8 Ising training, 128×128 prediction, a table and plots."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click

from ednn.io.atomic import write_text
from ednn.io.run_record import check_resume

#: (file name, lattice edge, configurations, T range) of the quickstart's data sets.
TRAIN_SET = ("ising-8x8.h5", 8, 20_000, (1.0, 5.0))
TRANSFER_SET = ("ising-128x128-near-tc.h5", 128, 24, (2.1, 2.45))


@click.command()
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/quickstart"),
    show_default=True,
    help="Folder for data, model, plots and the table.",
)
@click.option(
    "--epochs", type=click.IntRange(1), default=300, show_default=True, help="Training epochs (about 0.2 s each)."
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Seed for the data, the split and the training.",
)
def quickstart(run_dir: Path, epochs: int, seed: int) -> None:
    """Train on 8×8 Ising configurations, predict 128×128 ones near Tc (about 2 minutes).

    Generates 20 000 Monte Carlo 8×8 configurations, trains an f=1, c=1 EDNN,
    evaluates it on held-out 8×8 configurations and on 128×128 ones it never saw,
    prints a table and saves parity plots. Interrupted? Run it again: finished
    steps are reused and training resumes from its last checkpoint.
    """
    run_quickstart(run_dir, epochs=epochs, seed=seed, echo=click.echo)


def run_quickstart(run_dir: Path, *, epochs: int, seed: int, echo: Callable[[str], None] = print) -> dict:
    """Run (or reuse) every step in `run_dir`; returns the error summaries."""
    from ednn.analysis.plots import parity_plot
    from ednn.io.model_file import load
    from ednn.systems.ising import generate_ising_dataset
    from ednn.train.workflow import evaluate_on_file, train_on_file

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    settings, record = {"epochs": epochs, "seed": seed}, run_dir / "quickstart.json"
    if record.is_file():
        check_resume(
            json.loads(record.read_text()),
            settings,
            f"{run_dir} was made",
            "repeat those to reuse it, or choose another --run-dir",
            names={"epochs": ("--epochs", ""), "seed": ("--seed", "")},
        )
    write_text(record, json.dumps(settings))
    clock = time.perf_counter()
    paths = {}
    for name, size, n, (t_min, t_max) in (TRAIN_SET, TRANSFER_SET):
        echo(f"[data] {n} Monte Carlo configurations of {size}×{size}, T in [{t_min}, {t_max}] → {run_dir / name}")
        paths[size] = generate_ising_dataset(
            run_dir / name, size=size, n_configs=n, t_min=t_min, t_max=t_max, seed=seed + size, chunk_size=min(n, 1000)
        )
    model_path = run_dir / "ising-8x8-f1c1.safetensors"
    if model_path.is_file():
        echo(f"[train] reusing {model_path} (delete it to train again)")
        model = load(model_path)
    else:
        echo(
            f"[train] EDNN f=1, c=1, the paper's dense tile network, {epochs} epochs "
            f"(checkpoints in {run_dir / 'train'})"
        )
        model = train_on_file(
            paths[8],
            model_path,
            run_dir / "train",
            focus=1,
            context=1,
            epochs=epochs,
            batch_size=250,
            lr=1e-3,
            lr_min=1e-6,
            seed=seed,
            resume=(run_dir / "train/checkpoints/last.ckpt").is_file(),
            progress=sys.stdout.isatty(),
        )
    results = {}
    for label, size, split in (("8×8 test split", 8, "test"), ("128×128 near Tc", 128, None)):
        result = evaluate_on_file(model, paths[size], split)
        plot = parity_plot(
            result["predicted"],
            result["true"],
            result["summary"]["n_sites"],
            run_dir / f"parity-{size}x{size}.png",
            f"EDNN f=1 c=1 trained on 8×8: {label}",
        )
        results[label] = result["summary"]
        echo(f"[plot] {plot}")
    echo("")
    echo(f"{'data':18} {'N':>5} {'median|err| J':>14} {'per spin J':>11} {'mean|err| J':>12} {'spins/s':>9}")
    for label, s in results.items():
        echo(
            f"{label:18} {s['n']:>5} {s['median_abs_per_system']:>14.4g} {s['median_abs_per_site']:>11.3g} "
            f"{s['mean_abs_per_system']:>12.4g} {s['sites_per_second']:>9.3g}"
        )
    echo("\npaper (§3.1): 0.028 (8×8) and 2.055 (128×128), read as J per configuration")
    echo(f"total time {time.perf_counter() - clock:.0f} s; everything is in {run_dir}")
    write_text(run_dir / "results.json", json.dumps(results, indent=2))
    return results
