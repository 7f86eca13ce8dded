"""`ednn quickstart`, the README's main job: 8×8 Ising training, 128×128 prediction, a table and plots."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ednn.io.atomic import write_text
from ednn.io.paths import make_parent
from ednn.io.run_record import check_resume

if TYPE_CHECKING:
    import lightning as L

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


def run_quickstart(
    run_dir: Path,
    *,
    epochs: int,
    seed: int,
    echo: Callable[[str], None] = lambda line: print(line, flush=True),
    terminal: bool | None = None,
) -> dict:
    """Run (or reuse) every step in `run_dir`; returns the error summaries.

    Each stage says when it starts and ends (with its seconds). `terminal` (default: whether
    stdout is one): progress bars; otherwise, for logs, a line every ~10 % of training epochs or
    10 s instead.
    """
    from ednn.analysis.plots import parity_plot
    from ednn.io.model_file import load
    from ednn.systems.ising import generate_ising_dataset
    from ednn.train.fit import holds_run
    from ednn.train.workflow import evaluate_on_file, train_on_file

    terminal = sys.stdout.isatty() if terminal is None else terminal
    run_dir = Path(run_dir)
    settings, record = {"epochs": epochs, "seed": seed}, run_dir / "quickstart.json"
    make_parent(record)  # the run folder, or one line why it cannot be made
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
    paths = {}  # lattice edge → data file
    for name, size, n, (t_min, t_max) in (TRAIN_SET, TRANSFER_SET):
        what = f"{n} Monte Carlo configurations of {size}×{size}, T in [{t_min}, {t_max}] → {run_dir / name}"
        with _stage(echo, "data", what):
            paths[size] = generate_ising_dataset(
                run_dir / name,
                size=size,
                n_configs=n,
                t_min=t_min,
                t_max=t_max,
                seed=seed + size,
                chunk_size=min(n, 1000),
                progress=terminal,
            )
    model_path = run_dir / "ising-8x8-f1c1.safetensors"
    if model_path.is_file():
        echo(f"[train] reusing {model_path} (delete it to train again)")
        model = load(model_path)
    else:
        what = f"EDNN f=1, c=1, the paper's dense tile network, {epochs} epochs (checkpoints in {run_dir / 'train'})"
        with _stage(echo, "train", what):
            model = train_on_file(
                paths[TRAIN_SET[1]],
                model_path,
                run_dir / "train",
                focus=1,
                context=1,
                epochs=epochs,
                batch_size=250,
                lr=1e-3,
                lr_min=1e-6,
                seed=seed,
                resume=holds_run(run_dir / "train"),
                progress=terminal,
                callbacks=() if terminal else [_training_lines(echo)],
            )
    results, plots = {}, []
    for stage, label, size, split in (
        ("evaluate", f"{TRAIN_SET[1]}×{TRAIN_SET[1]} test split", TRAIN_SET[1], "test"),
        ("transfer", f"{TRANSFER_SET[1]}×{TRANSFER_SET[1]} near Tc", TRANSFER_SET[1], None),
    ):
        with _stage(echo, stage, f"the model on the {label} of {paths[size].name}"):
            result = evaluate_on_file(model, paths[size], split)
        results[label] = result["summary"]
        plots.append((label, size, result))
    with _stage(echo, "plot", "parity plots"):
        for label, size, result in plots:
            plot = parity_plot(
                result["predicted"],
                result["true"],
                result["summary"]["n_sites"],
                run_dir / f"parity-{size}x{size}.png",
                f"EDNN f=1 c=1 trained on 8×8: {label}",
            )
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


@contextmanager
def _stage(echo: Callable[[str], None], name: str, what: str) -> Iterator[None]:
    """Say '[name] what' as a stage starts and '[name] done in … s' as it ends."""
    echo(f"[{name}] {what}")
    start = time.perf_counter()
    yield
    echo(f"[{name}] done in {time.perf_counter() - start:.1f} s")


def _training_lines(echo: Callable[[str], None], seconds: float = 10.0) -> L.Callback:
    """A Lightning callback saying 'epoch k/N' and the validation loss every ~10 % of the epochs or
    every `seconds` s, whichever comes first, and after the last epoch (for logs, not terminals)."""
    import lightning as L

    class TrainingLines(L.Callback):
        def on_train_start(self, trainer: L.Trainer, task: L.LightningModule) -> None:
            self.start = self.said = time.perf_counter()

        def on_train_epoch_end(self, trainer: L.Trainer, task: L.LightningModule) -> None:
            k, n, now = trainer.current_epoch + 1, trainer.max_epochs, time.perf_counter()
            if trainer.is_global_zero and (k % max(1, n // 10) == 0 or k == n or now - self.said >= seconds):
                metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
                echo(
                    f"[train] epoch {k}/{n}: validation loss {metrics.get('val_loss', float('nan')):.4g} "
                    f"(MSE of scaled totals), median |error| {metrics.get('val_medae_per_system', float('nan')):.4g} "
                    f"J per configuration, {now - self.start:.0f} s"
                )
                self.said = now

    return TrainingLines()
