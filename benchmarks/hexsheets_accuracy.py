"""Paper §3.2.1 and §3.3 (Figs. 5 and 9): hexagonal B/C/N sheets with GFN1-xTB energies.

Test-split errors of the EDNN and of the whole-image CNN baseline, transfer of the
EDNN trained on 60-atom cells to 240- and 540-atom cells, and EDNN time against
GFN1-xTB time per structure. Prints our figures beside the paper's, writes plots and
a JSON summary.

    python benchmarks/hexsheets_accuracy.py [--models models] [--data datasets] [--out docs]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from pathlib import Path

import numpy as np
import torch

import ednn
from ednn.analysis.plots import _pyplot, parity_plot
from ednn.atoms.workflow import evaluate_structure_file, evaluate_structures
from ednn.data.atoms import StructureFile

MODELS = {"EDNN": "hexsheets-gfn1xtb", "whole-image CNN": "hexsheets-gfn1xtb-whole-image"}
PAPER = {"EDNN": 1.122, "whole-image CNN": 2.529}  # meV/Å², 60-atom test set, DFT labels
TRANSFER_FILES = {240: "hexsheets-240.h5", 540: "hexsheets-540.h5"}


def transfer(model: ednn.EDNN, data: Path) -> dict:
    source = StructureFile(data)
    index = np.flatnonzero(source.labelled)
    result = evaluate_structures(model, source.structures(index), source.energy[index])
    result["summary"]["gfn1xtb_seconds_median"] = float(np.median(source.label_seconds[index]))
    return result


def transfer_figure(rows: dict, path: Path) -> None:
    plt = _pyplot()
    atoms = sorted(rows)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
    ax1.plot(atoms, [rows[a]["mean_abs_meV_per_A2"] for a in atoms], "o-", label="mean |error|")
    ax1.plot(atoms, [rows[a]["median_abs_meV_per_A2"] for a in atoms], "s--", label="median |error|")
    ax1.set(xlabel="sites per cell", ylabel="error (meV/Å²)", title="(a) transfer from 60-site cells", ylim=(0, None))
    ax1.legend()
    ax2.loglog(atoms, [rows[a]["seconds_per_structure"] for a in atoms], "o-", label="EDNN (render + evaluate)")
    ax2.loglog(atoms, [rows[a]["gfn1xtb_seconds_median"] for a in atoms], "s-", label="GFN1-xTB (tblite)")
    ax2.set(xlabel="sites per cell", ylabel="seconds per structure (one core)", title="(b) time per structure")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--data", type=Path, default=Path("datasets"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    figures = args.out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    results: dict = {"test": {}, "transfer": {}}
    train_file = args.data / "hexsheets-60.h5"
    print(f"{'60-site test split':24} {'median':>8} {'mean':>8} {'mean':>9} {'mean':>8}   paper (DFT)")
    print(f"{'':24} {'meV/Å²':>8} {'meV/Å²':>8} {'meV/atom':>9} {'eV/cell':>8}   meV/Å²")
    models = {}
    for label, stem in MODELS.items():
        path = args.models / f"{stem}.safetensors"
        if not path.is_file():
            print(f"{label:24} (no model {path})")
            continue
        models[label] = model = ednn.load(path)
        result = evaluate_structure_file(model, train_file, "test")
        s = result["summary"]
        results["test"][label] = s
        print(f"{label:24} {s['median_abs_meV_per_A2']:8.3f} {s['mean_abs_meV_per_A2']:8.3f} "
              f"{s['mean_abs_meV_per_atom']:9.3f} {s['mean_abs_eV']:8.4f}   {PAPER[label]}")
        parity_plot(result["predicted"], result["true"], result["n_atoms"],
                    figures / f"hexsheets-fig5-{stem}.png", f"{label} ({stem}) on the 60-site test split",
                    unit="eV", site="atom")
    ednn_model = models.get("EDNN")
    if ednn_model is not None:
        base = results["test"]["EDNN"]
        rows = {60: dict(base, gfn1xtb_seconds_median=float(np.median(
            StructureFile(train_file).label_seconds[StructureFile(train_file).labelled])))}
        print(f"\ntransfer of the EDNN (target: mean error per Å² <= 1.5x the 60-site figure)")
        for n_sites, name in TRANSFER_FILES.items():
            if not (args.data / name).is_file() or not StructureFile(args.data / name).labelled.any():
                print(f"  {n_sites} sites: no labelled {name}")
                continue
            s = transfer(ednn_model, args.data / name)["summary"]
            rows[n_sites] = s
            ratio = s["mean_abs_meV_per_A2"] / base["mean_abs_meV_per_A2"]
            print(f"  {n_sites} sites (N={s['n']}): median {s['median_abs_meV_per_A2']:.3f}, mean "
                  f"{s['mean_abs_meV_per_A2']:.3f} meV/Å² ({ratio:.2f}x the 60-site mean); EDNN "
                  f"{1000 * s['seconds_per_structure']:.1f} ms vs GFN1-xTB {s['gfn1xtb_seconds_median']:.1f} s")
        results["transfer"] = {str(k): v for k, v in rows.items()}
        transfer_figure(rows, figures / "hexsheets-fig9-transfer.png")
    results["made_with"] = {"machine": f"{platform.machine()}, 1 thread", "torch": torch.__version__,
                            "date": datetime.date.today().isoformat(), "load_average": os.getloadavg()[0]}
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    (args.out / "results" / "hexsheets_accuracy.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
