"""Data-parallel training on CPU processes (issue 23): `--devices 2` against 1 on the same data and seed.

Trains the Ising f=1, c=1 model (dense 64-64, the focus/context study's network) on 8×8
configurations twice — one process with all the machine's threads, then two Lightning DDP
processes sharing them, each with half the batch so that every step sees the same 500
configurations — and compares test error and wall time. Writes docs/results/ddp_speed.json.

    python benchmarks/ddp_speed.py [--configs 20000] [--epochs 30] [--out docs]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from ednn.systems.ising.dataset import generate_ising_dataset
from ednn.train.workflow import train_on_file

BATCH = 500  # configurations per optimiser step, over all processes


def train_once(data: Path, run: Path, devices: int, epochs: int) -> dict:
    """Train on `devices` CPU processes; the run's seconds and its test metrics."""
    start = time.perf_counter()
    model = train_on_file(
        data,
        run / "model.safetensors",
        run,
        focus=1,
        context=1,
        epochs=epochs,
        batch_size=BATCH // devices,  # per process: every step sees the same global batch
        lr=1e-3,
        lr_min=1e-5,
        seed=0,
        progress=False,
        net_options={"hidden": [64, 64]},
        devices=devices,
    )
    metrics = model.info["test_metrics"]
    return {
        "devices": devices,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "test_median_abs_per_system_J": metrics["median_abs_per_system"],
        "test_mean_abs_per_system_J": metrics["mean_abs_per_system"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = generate_ising_dataset(
            Path(folder) / "train-8x8.h5", size=8, n_configs=args.configs, t_min=1.0, t_max=5.0, seed=0, progress=False
        )
        runs = [train_once(data, Path(folder) / f"run-{d}", d, args.epochs) for d in (1, 2)]
    one, two = runs
    result = {
        "command": "python benchmarks/ddp_speed.py " + " ".join(sys.argv[1:]),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU, torch {torch.__version__}",
        "load_average": os.getloadavg()[0],
        "configs": args.configs,
        "epochs": args.epochs,
        "runs": runs,
        "speed_up": round(one["wall_seconds"] / two["wall_seconds"], 2),
        "error_ratio_2_over_1": two["test_median_abs_per_system_J"] / one["test_median_abs_per_system_J"],
    }
    for run in runs:
        print(
            f"devices {run['devices']}: {run['wall_seconds']:7.1f} s, test median |error| "
            f"{run['test_median_abs_per_system_J']:.4g} J per configuration"
        )
    print(f"speed-up {result['speed_up']}×; error ratio (2 / 1) {result['error_ratio_2_over_1']:.3g}")
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    (args.out / "results" / "ddp_speed.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
