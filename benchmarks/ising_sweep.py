"""Focus/context sweeps on 8×8 Ising data (paper §2.2, docs/sweep.md).

Three sweeps, each resumable (rerun this script after an interruption): f ∈ {1, 2, 4} ×
c ∈ {0, 1, 2, 3} at fixed capacity on T ∈ [1, 5]; c ∈ {0, 1, 2} at f = 1 on T ∈ [2.1, 2.5]
(near Tc); and the paper's like-for-like row, f = 1, c = 1, 2, 3 at the paper's capacity.
Writes docs/results/ising_sweep.json (with the paper's figures beside ours) and the heat maps
docs/figures/ising-sweep-*.png; data and runs go to runs/sweep/.

    nice python benchmarks/ising_sweep.py [--workers 2] [--only main,near-tc,paper]
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import torch

from ednn.io.atomic import write_text
from ednn.systems.ising.dataset import generate_ising_dataset
from ednn.train.sweep import PLOTS, run_sweep, table_lines

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "sweep"
PAPER = {"f1-c1": 0.028, "f1-c2": 1.090, "f1-c3": 14.816}
"""The paper's 8×8 errors at f = 1 (§3.1, read as J per configuration: docs/ising.md)."""
DATA = {"wide": (1.0, 5.0, 0), "near-tc": (2.1, 2.5, 1)}
"""Data sets: (t_min, t_max, seed), 20 000 8×8 configurations each."""
SWEEPS = {
    "main": dict(data="wide", focus=[1, 2, 4], context=[0, 1, 2, 3], capacity="fixed", epochs=60, batch_size=500),
    "near-tc": dict(data="near-tc", focus=[1], context=[0, 1, 2], capacity="fixed", epochs=60, batch_size=500),
    # the paper's net at c = 3 costs 24× the fixed one per tile: a smaller budget for all three
    "paper": dict(data="wide", focus=[1], context=[1, 2, 3], capacity="paper", epochs=30, limit=5000, batch_size=250),
}
"""Each sweep's pairs and training budget (all 20 000 examples unless a limit is given)."""


def data_file(name: str) -> Path:
    """The 8×8 data set `name` of DATA, generated if missing (~10 s)."""
    t_min, t_max, seed = DATA[name]
    path = RUNS / f"train-8x8-{name}.h5"
    return generate_ising_dataset(path, size=8, n_configs=20000, t_min=t_min, t_max=t_max, seed=seed, progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default=",".join(SWEEPS))
    args = parser.parse_args()
    out = ROOT / "docs" / "results" / "ising_sweep.json"
    results = json.loads(out.read_text()) if out.is_file() else {}
    for name in args.only.split(","):
        spec = dict(SWEEPS[name])
        data_name = spec.pop("data")
        data = data_file(data_name)
        start = time.perf_counter()
        record = run_sweep(
            data,
            RUNS / name,
            workers=args.workers,
            report=lambda r: print(f"{r['name']}: {r['train_seconds']:.0f} s", flush=True),
            **spec,
        )
        print(f"\n{name} ({time.perf_counter() - start:.0f} s)\n" + "\n".join(table_lines(record)), flush=True)
        for key, picture in PLOTS.items():
            shutil.copyfile(RUNS / name / picture, ROOT / "docs" / "figures" / f"ising-sweep-{name}-{key}.png")
        results[name] = {
            **record,
            "wall_seconds": round(results.get(name, {}).get("wall_seconds", 0) + record["seconds"], 1),  # all sessions
            "data": {"file": data.name, "T": DATA[data_name][:2], "n": spec.get("limit", 20000)},
            "paper_median_J": PAPER if name == "paper" else None,
            "machine": f"{platform.machine()}, {args.workers} workers of one thread, torch {torch.__version__}",
            "date": time.strftime("%Y-%m-%d"),
        }
        write_text(out, json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
