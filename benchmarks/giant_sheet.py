"""Paper Figs. 10–12: EDNN energy of porous graphene sheets from 10³ atoms to the 1 µm²,
~35-million-atom sheet, with time, peak memory and the exact REBO energy beside it.

    python benchmarks/giant_sheet.py [--model models/porous-graphene-rebo.safetensors]
                                     [--largest 290x293] [--work data/giant] [--out docs]

Sheets are made once (resumable: existing files are reused) from a pool of 64 thermalised
porous patches (`ednn.systems.porous_sheet`), their thermal displacements blended across seams
over BLEND_WIDTH Å (`ednn.systems.seam_blend`; benchmarks/sheet_seams.py shows why). Each EDNN
evaluation runs in its own process (`giant_energy`, as `ednn predict` runs it: one process
with a thread per core, or a local Dask cluster of 2 workers); its wall time (process start
to end), its compute time (`giant_energy` alone) and the peak resident memory of its whole
process tree (sampled every 0.1 s) are recorded. The exact energy is `rebo_block_energy` (LAMMPS, one core).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from ednn.cli.arguments import parse_pair
from ednn.io.giant import GiantFile
from ednn.io.structures import read_structures, write_structures
from ednn.references.rebo_blocks import rebo_block_energy
from ednn.systems.porous_sheet import BLEND_WIDTH, EDGE_MARGIN, SQUARE_MICRON_PATCHES, patch_pool, write_porous_sheet

POOL, SEED = 64, 0
SIZES = [(2, 1), (5, 5), (16, 16), (50, 50), (160, 160)]
PAPER = {"atoms": 35.2e6, "minutes": 24.7, "cores": 448}
TARGETS = {"minutes": 24.7, "peak_rss_gb": 8.0, "error_meV_per_atom": 1.0, "exponent": (0.95, 1.05)}


def pool(work: Path) -> list:
    path = work / f"pool-{POOL}-seed{SEED}-edge{EDGE_MARGIN:g}.h5"  # patches at random training frames
    if not path.exists():
        write_structures(path, patch_pool(POOL, SEED), {"command": "benchmarks/giant_sheet.py", "seed": SEED})
    return read_structures(path)[0]


def pool_check(model_path: Path, patches: list) -> dict:
    """The pool patches alone, each periodic as in training: the EDNN's mean error (meV/atom)
    — the model's own error, apart from the seams a sheet adds — and the mean REBO energy
    (eV/atom) of the pristine ones, to compare with pristine training frames (their
    temperature)."""
    import ednn
    from ednn.references.lammps import rebo_energies

    exact, atoms = rebo_energies(patches), np.array([len(p) for p in patches])
    predicted = ednn.load(model_path).predict_atoms(patches)
    pristine = atoms == atoms.max()
    return {
        "error_meV_per_atom": float(1e3 * np.mean((predicted - exact) / atoms)),
        "pristine_patches": int(pristine.sum()),
        "pristine_rebo_eV_per_atom": float(np.mean(exact[pristine] / atoms[pristine])),
    }


def measured(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB of the process tree) of a command."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return time.perf_counter() - start, peak / 1e9


_RUN = """
import json, sys, time
import ednn
from ednn.scale.run import giant_energy
model = ednn.load(sys.argv[1])
start = time.perf_counter()
energy = giant_energy(model, sys.argv[2], workers=int(sys.argv[3]) or None, progress=False)
print(json.dumps({"energy_eV": energy, "compute_seconds": time.perf_counter() - start}))
"""


def ednn_run(model: Path, sheet: Path, workers: int) -> dict:
    """Energy, wall seconds (process start to end), compute seconds (giant_energy alone,
    Dask cluster start included) and peak RSS of one evaluation in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        command = [
            "sh",
            "-c",
            f'"$0" -c "$1" "$2" "$3" "$4" > "{out}"',
            sys.executable,
            _RUN,
            str(model),
            str(sheet),
            str(workers),
        ]
        seconds, rss = measured(command)
        result = json.loads(out.read_text())
    return {"seconds": seconds, "peak_rss_gb": rss, **result}


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    atoms = np.array([r["atoms"] for r in rows])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key, axis, label in (("seconds", axes[0], "time (s)"), ("peak_rss_gb", axes[1], "peak memory (GB)")):
        axis.loglog(atoms, [r["ednn"][key] for r in rows], "o-", label="1 process")
        dask = [(r["atoms"], r["dask2"][key]) for r in rows if "dask2" in r]
        if dask:
            axis.loglog(*zip(*dask), "s--", label="Dask, 2 workers")
        axis.set_xlabel("atoms")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    axes[0].set_title("EDNN energy of porous sheets (2 cores)")
    axes[1].set_title("peak resident memory of the process tree")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/porous-graphene-rebo.safetensors"))
    parser.add_argument(
        "--largest",
        default="x".join(map(str, SQUARE_MICRON_PATCHES)),
        help="patches of the largest sheet (default: 1 µm²)",
    )
    parser.add_argument("--work", type=Path, default=Path("data/giant"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    patches_pool = pool(args.work)
    sizes = SIZES + [parse_pair(args.largest)]
    checked = pool_check(args.model, patches_pool)
    print(
        f"the {POOL} pool patches alone (periodic): mean error {checked['error_meV_per_atom']:+.3f} meV/atom; "
        f"the {checked['pristine_patches']} pristine ones' REBO energy {checked['pristine_rebo_eV_per_atom']:.4f} "
        "eV/atom",
        flush=True,
    )
    rows = []
    for nx, ny in sizes:
        sheet = args.work / f"porous-{nx}x{ny}-pool{POOL}-seed{SEED}-edge{EDGE_MARGIN:g}-blend{BLEND_WIDTH:g}.h5"
        start = time.perf_counter()
        if not sheet.exists():
            write_porous_sheet(sheet, (nx, ny), patches_pool, seed=SEED)
        made = time.perf_counter() - start
        with GiantFile(sheet) as giant:
            natoms, area = len(giant.bins), giant.bins.lengths[0] * giant.bins.lengths[1]
            start = time.perf_counter()
            exact = rebo_block_energy(giant.bins)
            rebo_seconds = time.perf_counter() - start
        row = {
            "patches": [nx, ny],
            "atoms": natoms,
            "area_A2": area,
            "write_seconds": made,
            "rebo_energy_eV": exact,
            "rebo_seconds": rebo_seconds,
            "ednn": ednn_run(args.model, sheet, 0),
        }
        if natoms >= 1e6:
            row["dask2"] = ednn_run(args.model, sheet, 2)
        error = row["ednn"]["energy_eV"] - exact
        row["error_meV_per_atom"] = 1e3 * error / natoms
        row["error_meV_per_A2"] = 1e3 * error / area
        rows.append(row)
        dask = f", Dask×2 {row['dask2']['seconds']:.1f} s" if "dask2" in row else ""
        print(
            f"{natoms:>11,d} atoms: EDNN {row['ednn']['seconds']:8.1f} s ({row['ednn']['compute_seconds']:.2f} s "
            f"computing), {row['ednn']['peak_rss_gb']:.2f} GB{dask}; "
            f"REBO {rebo_seconds:.1f} s; error {row['error_meV_per_atom']:+.3f} meV/atom, "
            f"{row['error_meV_per_A2']:+.4f} meV/Å²",
            flush=True,
        )

    fit = [r for r in rows if 1e5 <= r["atoms"] <= 1.1e7]
    exponent = float(
        np.polyfit(np.log([r["atoms"] for r in fit]), np.log([r["ednn"]["compute_seconds"] for r in fit]), 1)[0]
    )
    giant = rows[-1]
    minutes = giant["ednn"]["seconds"] / 60
    print(f"compute time ∝ atoms^{exponent:.3f} from 1e5 to 1e7 (target 1.00 ± 0.05)")
    print(
        f"largest sheet: {giant['atoms']:,d} atoms, {giant['area_A2'] / 1e8:.4f} µm², "
        f"EDNN {minutes:.2f} min on 2 cores "
        f"(target ≤ {TARGETS['minutes']}; paper {PAPER['minutes']} min on {PAPER['cores']} cores), peak "
        f"{giant['ednn']['peak_rss_gb']:.2f} GB (target ≤ {TARGETS['peak_rss_gb']}), error "
        f"{giant['error_meV_per_atom']:+.3f} meV/atom (target |·| ≤ {TARGETS['error_meV_per_atom']}); exact REBO "
        f"{giant['rebo_energy_eV']:.6e} eV in {giant['rebo_seconds'] / 60:.1f} min"
    )
    results = {
        "command": "python benchmarks/giant_sheet.py",
        "model": str(args.model),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU",
        "seam_blend_width_A": BLEND_WIDTH,
        "pore_edge_margin_A": EDGE_MARGIN,
        "rows": rows,
        "pool_patches": checked,
        "time_exponent_1e5_1e7": exponent,
        "paper": PAPER,
        "targets": TARGETS,
    }
    (args.out / "results" / "giant_sheet.json").write_text(json.dumps(results, indent=1))
    figure(rows, args.out / "figures" / "giant-sheet-scaling.png")
    print(f"wrote {args.out / 'results' / 'giant_sheet.json'} and {args.out / 'figures' / 'giant-sheet-scaling.png'}")
    if not math.isfinite(exponent):
        raise SystemExit("no exponent")


if __name__ == "__main__":
    main()
