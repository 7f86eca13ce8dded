"""3-D Ising accuracy (issue 23): the f=1, c=1 model trained on 6×6×6 lattices, on its held-out
6³ split and on 8³, 16³ and 32³ lattices near Tc ≈ 4.51 and away from it.

Prints the median and mean |predicted − exact| per spin (J) beside the target, and writes
docs/results/ising3d_accuracy.json. Each test set is evaluated on its first configurations,
at most --max-spins spins in all (prediction on 2 shared cores: ~10⁴–10⁵ spins/s). Test sets are
made by fixed-seed Monte Carlo when missing (resumed when interrupted); the training file must
be there (docs/ising3d.md).

    python benchmarks/ising3d_accuracy.py [--model models/ising3d-f1c1.safetensors] [--data data/ising3d]
        [--max-spins 1000000]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import torch

import ednn
from ednn.systems.ising import generate_ising_dataset, load_ising_dataset
from ednn.train.workflow import errors, evaluate_on_file

TARGET_PER_SPIN = 5e-5
"""Median |error| per spin (J) asked of every set."""

#: name: (L, configurations, T range, seed, chunk); the 6³ held-out split is the training file's own.
TEST_SETS = {
    "test-8.h5": (8, 2000, (2.0, 8.0), 81, 500),
    "test-16-low.h5": (16, 300, (2.0, 3.0), 161, 100),
    "test-16-near-tc.h5": (16, 300, (4.3, 4.7), 162, 100),
    "test-16-high.h5": (16, 300, (6.0, 8.0), 163, 100),
    "test-32-low.h5": (32, 100, (2.0, 3.0), 321, 20),
    "test-32-near-tc.h5": (32, 100, (4.3, 4.7), 322, 20),
    "test-32-high.h5": (32, 100, (6.0, 8.0), 323, 20),
}
TRAINING_FILE = "train-6.h5"


def ensure_test_sets(folder: Path) -> dict[str, Path]:
    """The test files in `folder`, generated (or finished) where missing."""
    return {
        name: generate_ising_dataset(
            folder / name,
            size=size,
            n_configs=n,
            t_min=t_min,
            t_max=t_max,
            seed=seed,
            chunk_size=chunk,
            dim=3,
            progress=False,
        )
        for name, (size, n, (t_min, t_max), seed, chunk) in TEST_SETS.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/ising3d-f1c1.safetensors"))
    parser.add_argument("--data", type=Path, default=Path("data/ising3d"))
    parser.add_argument("--out", type=Path, default=Path("docs/results/ising3d_accuracy.json"))
    parser.add_argument("--max-spins", type=int, default=1_000_000, help="spins evaluated per test set, at most")
    args = parser.parse_args()
    start = time.perf_counter()
    paths = ensure_test_sets(args.data)
    generation = time.perf_counter() - start
    model = ednn.load(args.model)
    sets = [("6³ held-out split", args.data / TRAINING_FILE, "test", "2–8")]
    sets += [
        (f"{size}³ T {t_min:g}–{t_max:g}", paths[name], None, f"{t_min:g}–{t_max:g}")
        for name, (size, _, (t_min, t_max), _, _) in TEST_SETS.items()
    ]
    rows = []
    for label, path, split, temperatures in sets:
        if split:
            summary = evaluate_on_file(model, path, split)["summary"]
        else:
            data = load_ising_dataset(path)
            n = max(1, args.max_spins // data["x"][0].size)
            summary = errors(model, data["x"][:n], data["energy"][:n])["summary"]
        rows.append(
            {
                "set": label,
                "file": path.name,
                "T": temperatures,
                "n": summary["n"],
                "median_abs_per_spin": summary["median_abs_per_site"],
                "mean_abs_per_spin": summary["mean_abs_per_site"],
                "median_abs_per_system": summary["median_abs_per_system"],
                "target_median_per_spin": TARGET_PER_SPIN,
                "met": bool(summary["median_abs_per_site"] <= TARGET_PER_SPIN),
            }
        )
    print(
        f"3-D Ising, {args.model.name} — {datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}"
    )
    print(f"{'set':22} {'N':>5} {'median J/spin':>14} {'mean J/spin':>12} {'median J/system':>16} {'target':>8} met")
    for r in rows:
        print(
            f"{r['set']:22} {r['n']:>5} {r['median_abs_per_spin']:>14.3g} {r['mean_abs_per_spin']:>12.3g} "
            f"{r['median_abs_per_system']:>16.4g} {TARGET_PER_SPIN:>8.0e} {'yes' if r['met'] else 'NO'}"
        )
    seconds = time.perf_counter() - start
    print(f"test sets made or found in {generation:.0f} s; {seconds:.0f} s in all")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "model": args.model.name,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "rows": rows,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
