"""Paper §3.3 speed, atoms, on ONE core: render + evaluate a 60-atom cell (paper: 57 ms),
a 540-atom cell against GFN1-xTB in the same run, and rendering 10⁶ atoms.

    python benchmarks/speed_atoms.py [--model models/ablations/hexsheets-gfn1xtb-dense.safetensors]
                                     [--data datasets] [--no-reference] [--out docs/results]

--no-reference skips the (several minutes long) GFN1-xTB calculation of one 540-atom
cell and compares with the label times recorded when the data set was made instead.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before torch and tblite start their thread pools

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import ednn
from ednn.atoms.render import render
from ednn.io.structures import StructureFile
from ednn.references.label import make_calculator

PAPER_60_ATOM_MS = 57.0
TARGETS = {"60-atom render + evaluate (ms)": 20.0, "540-atom speed-up over GFN1-xTB": 1e4, "render 10^6 atoms (s)": 2.0}


def per_structure_seconds(model: ednn.EDNN, structures: list, repeats: int) -> float:
    """Median wall seconds of predict_atoms on one structure at a time (render + evaluate)."""
    model.predict_atoms(structures[:1])  # warm-up
    times = []
    for _ in range(repeats):
        for atoms in structures:
            start = time.perf_counter()
            model.predict_atoms(atoms)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def render_million(pixel_size: tuple[float, float]) -> tuple[float, int]:
    rng = np.random.default_rng(0)
    n_atoms, lengths = 1_000_000, (1000.0, 1000.0)
    positions = rng.uniform(0, 1000.0, size=(n_atoms, 2))
    numbers = rng.choice([5, 6, 7], size=n_atoms)
    shape = tuple(int(round(length / p)) for length, p in zip(lengths, pixel_size))
    render(positions[:1000], numbers[:1000], lengths, shape, dtype=torch.float32)  # warm-up
    start = time.perf_counter()
    render(positions, numbers, lengths, shape, dtype=torch.float32)
    return time.perf_counter() - start, shape[0] * shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/ablations/hexsheets-gfn1xtb-dense.safetensors"))
    parser.add_argument("--data", type=Path, default=Path("datasets"))
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = ednn.load(args.model)
    rows, results = [], {}
    for name, count in (("hexsheets-60.h5", 50), ("hexsheets-240.h5", 10), ("hexsheets-540.h5", 6)):
        data = StructureFile(args.data / name)
        chosen = np.arange(min(count, len(data)))
        seconds = per_structure_seconds(model, data.structures(chosen), repeats=3 if count > 10 else 5)
        labelled = data.labelled
        recorded = float(np.median(data.label_seconds[labelled])) if labelled.any() else float("nan")
        results[name] = {
            "atoms_median": int(np.median(data.n_atoms[chosen])),
            "ednn_seconds": seconds,
            "gfn1xtb_seconds_recorded": recorded,
            "gfn1xtb_labels_recorded": int(labelled.sum()),
        }
        rows.append((name, int(np.median(data.n_atoms[chosen])), seconds, recorded))
    big = StructureFile(args.data / "hexsheets-540.h5")
    if not args.no_reference:
        atoms = big.structures([0])[0]
        atoms.calc = make_calculator("gfn1-xtb")
        start = time.perf_counter()
        atoms.get_potential_energy()
        results["hexsheets-540.h5"]["gfn1xtb_seconds_this_run"] = time.perf_counter() - start
    render_s, pixels = render_million(model.imaging.pixel_size)
    results["render_1e6_atoms"] = {"seconds": render_s, "pixels": pixels}
    reference_540 = results["hexsheets-540.h5"].get(
        "gfn1xtb_seconds_this_run", results["hexsheets-540.h5"]["gfn1xtb_seconds_recorded"]
    )
    speedup = reference_540 / results["hexsheets-540.h5"]["ednn_seconds"]
    results["speedup_540"] = speedup
    print(f"one core, torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'cells':18} {'atoms':>6} {'EDNN (ms)':>10} {'GFN1-xTB (s)':>13} {'speed-up':>10}")
    for name, atoms, seconds, recorded in rows:
        reference = results[name].get("gfn1xtb_seconds_this_run", recorded)
        print(f"{name:18} {atoms:6d} {1000 * seconds:10.2f} {reference:13.2f} {reference / seconds:10.0f}")
    ms_60 = 1000 * results["hexsheets-60.h5"]["ednn_seconds"]
    print(f"60-atom render + evaluate: {ms_60:.2f} ms (paper {PAPER_60_ATOM_MS} ms; target <= 20 ms)")
    source = "this run" if "gfn1xtb_seconds_this_run" in results["hexsheets-540.h5"] else "recorded label time"
    print(f"540-atom speed-up over GFN1-xTB ({source}): {speedup:,.0f}x (target >= 10,000x)")
    print(f"render 10^6 atoms into {pixels:,} pixels: {render_s:.2f} s (target <= 2 s)")
    results["made_with"] = {
        "machine": f"{platform.machine()}, 1 thread",
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "load_average": os.getloadavg()[0],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed_atoms.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
