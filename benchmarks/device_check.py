"""The same numbers on every device, and the speed of each: CPU against each GPU present.

For the committed Ising and sheet models: totals of Ising lattices (`predict`), per-tile
contributions, energies of sheets (`predict_atoms`), and calculator energies and forces, on
the CPU and on every other device given (default: each CUDA device torch sees). Prints the
largest relative difference against the CPU (float32 networks: expect ~1e-6; the physical
total is always summed in float64) and the median wall time of each evaluation per device.
Exits non-zero if a device disagrees beyond --rtol. On a machine without a GPU it checks the
CPU alone and says so.

    python benchmarks/device_check.py [--devices cuda:0 ...] [--repeats 5] [--rtol 1e-5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import ednn
from ednn.io.structures import StructureFile

ROOT = Path(__file__).resolve().parents[1]
ISING = ROOT / "models" / "ising-8x8-f1c1.safetensors"
SHEETS = ROOT / "models" / "hexsheets-gfn1xtb.safetensors"


def median_seconds(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Median wall time (s) of fn() after one warm-up call, synchronising the device."""

    def run() -> float:
        start = time.perf_counter()
        fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    run()
    return statistics.median(run() for _ in range(repeats))


def evaluations(device: str) -> dict[str, Callable[[], np.ndarray]]:
    """Each checked evaluation on `device`, as a function returning float64 numbers."""
    ising = ednn.load(ISING, device=device)
    sheets = ednn.load(SHEETS, device=device)
    spins = np.random.default_rng(0).choice([-1, 1], size=(4, 256, 256))
    structures = StructureFile(ROOT / "datasets" / "hexsheets-60.h5").structures(range(16))
    calculator = sheets.calculator()

    def energy_and_forces() -> np.ndarray:
        atoms = structures[0].copy()
        calculator.reset()  # ASE would return the stored results of an unchanged structure
        atoms.calc = calculator
        return np.concatenate([[atoms.get_potential_energy()], atoms.get_forces().ravel()])

    return {
        "ising predict 4×256²": lambda: ising.predict(spins),
        "ising contributions 4×256²": lambda: ising.contributions(spins),
        "sheets predict_atoms 16×60": lambda: sheets.predict_atoms(structures),
        "sheets energy+forces 60": energy_and_forces,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--devices", nargs="*", default=None, help="devices besides the CPU (default: every CUDA device)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    others = args.devices if args.devices is not None else [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if not others:
        print("no GPU found: checking the CPU alone (give --devices to name others)")
    reference = {name: fn() for name, fn in evaluations("cpu").items()}
    rows, worst = [], 0.0
    for device in ["cpu", *others]:
        for name, fn in evaluations(device).items():
            values = fn()
            scale = np.maximum(np.abs(reference[name]), np.abs(reference[name]).max() * 1e-6)
            diff = float(np.max(np.abs(values - reference[name]) / scale))
            worst = max(worst, diff)
            seconds = median_seconds(fn, args.repeats, device)
            rows.append({"device": device, "evaluation": name, "seconds": seconds, "max_rel_diff_vs_cpu": diff})
            print(f"{device:8s} {name:28s} {seconds * 1e3:9.2f} ms   max rel. diff vs CPU {diff:.1e}")
    if args.json:
        args.json.write_text(
            json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}, indent=1)
        )
    if worst > args.rtol:
        raise SystemExit(f"a device disagrees with the CPU by {worst:.1e} relative (> --rtol {args.rtol:g})")


if __name__ == "__main__":
    main()
