"""Paper §3.2.1 and §3.3 (Figs. 5 and 9): hexagonal B/C/N sheets with GFN1-xTB energies.

Test-split errors of the EDNNs and of the whole-image baselines — on the structures as
generated and moved by random in-plane translations (energies do not change; a model
that learnt one placement of the lattice on its pixel grid does; the EDNNs also averaged
over 8 placements of the grid, `predict_atoms(..., placements=8)`) — transfer of the
default EDNN trained on 60-atom cells to 240- and 540-atom cells, and EDNN time against
GFN1-xTB time per structure. Prints our figures beside the paper's, writes plots and a
JSON summary.

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
from ednn.analysis.plots import parity_plot, pyplot
from ednn.io.structures import StructureFile
from ednn.train.structures import areas, evaluate_structures, labelled_split, translated

#: label: (model file in models/ without .safetensors, paper's figure in meV/Å² on its 60-atom DFT test set or None)
MODELS = {
    "EDNN": ("ablations/hexsheets-gfn1xtb-dense", 1.122),
    "EDNN, local density": ("ablations/hexsheets-gfn1xtb-density", 1.122),
    "EDNN, local density, wider": ("ablations/hexsheets-gfn1xtb-density-wide", 1.122),
    "EDNN, local density, charge eq.": ("ablations/hexsheets-gfn1xtb-qeq", 1.122),
    "EDNN, charge eq., extra sheets": ("hexsheets-gfn1xtb", 1.122),
    "whole-image": ("ablations/hexsheets-gfn1xtb-whole-image", 2.529),
    "EDNN, MSE loss": ("ablations/hexsheets-gfn1xtb-mse", None),
    "EDNN, fixed placement": ("ablations/hexsheets-gfn1xtb-fixed-placement", None),
    "EDNN, lattice grid, fixed placement": ("ablations/hexsheets-gfn1xtb-lattice-grid", None),
    "whole-image, fixed placement": ("ablations/hexsheets-gfn1xtb-whole-image-fixed-placement", None),
}
#: The EDNNs whose transfer to larger cells is measured.
TRANSFER_OF = ("EDNN", "EDNN, local density", "EDNN, local density, charge eq.", "EDNN, charge eq., extra sheets")
TRANSLATION_SEED = 2026
PLACEMENTS = 8
"""Placements of the pixel grid the EDNNs' predictions are also averaged over (`predict_atoms`)."""
TRANSFER_FILES = {240: "hexsheets-240.h5", 540: "hexsheets-540.h5"}


def transfer(model: ednn.EDNN, data: Path) -> dict:
    """Errors on every labelled structure of `data`, each randomly translated."""
    source = StructureFile(data)
    index = np.flatnonzero(source.labelled)
    structures = translated(source.structures(index), np.random.default_rng(TRANSLATION_SEED))
    result = evaluate_structures(model, structures, source.energy[index])
    result["summary"]["gfn1xtb_seconds_median"] = float(np.median(source.label_seconds[index]))
    return result


def local_features(structures: list) -> np.ndarray:
    """Per structure: counts of B, C, N, of the six bond types (within 1.8 Å) and the summed
    squared bond-length deviation from 1.443 Å — a hand-made local model to compare with."""
    from ase.neighborlist import neighbor_list

    pairs = [(5, 5), (5, 6), (5, 7), (6, 6), (6, 7), (7, 7)]
    rows = []
    for atoms in structures:
        i, j, d = neighbor_list("ijd", atoms, 1.8)
        zi, zj = np.minimum(atoms.numbers[i], atoms.numbers[j]), np.maximum(atoms.numbers[i], atoms.numbers[j])
        rows.append(
            [
                *(np.sum(atoms.numbers == z) for z in (5, 6, 7)),
                *(np.sum((zi == a) & (zj == b)) / 2 for a, b in pairs),
                np.sum((d - 1.443) ** 2) / 2,
            ]
        )
    return np.array(rows, float)


def breakdown(source: StructureFile, test: np.ndarray, error: np.ndarray) -> dict:
    """Mean |error| (eV per cell) by kind of sheet, by number of vacancies, and by kind for
    sheets without and with vacancies."""
    kind = source.kind[test]
    vacancies = 60 - source.n_atoms[test]
    kinds = {str(k): float(np.abs(error[kind == k]).mean()) for k in np.unique(kind)}
    by_vacancies = {int(v): float(np.abs(error[vacancies == v]).mean()) for v in np.unique(vacancies)}
    split = {
        f"{k}, {'with' if v else 'no'} vacancies": float(np.abs(error[(kind == k) & ((vacancies > 0) == v)]).mean())
        for k in np.unique(kind)
        for v in (False, True)
        if np.any((kind == k) & ((vacancies > 0) == v))
    }
    return {"kind": kinds, "vacancies": by_vacancies, "kind_and_vacancies": split}


def shared_error(source: StructureFile, test: np.ndarray, first: np.ndarray, second: np.ndarray) -> dict:
    """How much two models' errors (eV per cell, same sheets) have in common: their
    correlation, the error of their mean (meV/Å²), and for hBN sheets with vacancies the
    correlation of the first's |error| with |N − B| (the electrons a vacancy leaves over)."""
    structures = source.structures(test)
    excess = np.abs(electron_excess(structures))
    hbn = (source.kind[test] == "hbn") & (source.n_atoms[test] < 60)
    return {
        "correlation": float(np.corrcoef(first, second)[0, 1]),
        "mean_of_both_meV_per_A2": float(np.mean(1000 * np.abs(first + second) / 2 / areas(structures))),
        "hbn_vacancies_abs_error_vs_electron_excess": float(np.corrcoef(np.abs(first[hbn]), excess[hbn])[0, 1]),
    }


def electron_excess(structures: list) -> np.ndarray:
    """N − B per structure: the electrons left over once B–N pairs are counted (C brings 4 of 4)."""
    return np.array([int(np.sum(a.numbers == 7)) - int(np.sum(a.numbers == 5)) for a in structures], float)


def cell_terms(structures: list) -> np.ndarray:
    """Per structure: 1, q, q², |q|, q mod 2 and the number of vacancies, q = N − B: terms
    that belong to the whole cell (its net electron excess), not to any neighbourhood."""
    q = electron_excess(structures)
    vacancies = np.array([60 - len(a) for a in structures], float)
    return np.column_stack([np.ones_like(q), q, q**2, np.abs(q), q % 2, vacancies])


def with_cell_terms(model: ednn.EDNN, source: StructureFile, split: dict, test_error: np.ndarray) -> dict:
    """Test mean |error| (meV/Å²) of `model` before and after adding whole-cell terms
    (`cell_terms`) fitted by least squares to its residuals on the translated training sheets."""
    train = translated(source.structures(split["train"]), np.random.default_rng(TRANSLATION_SEED))
    residual = source.energy[split["train"]] - model.predict_atoms(train)
    weights, *_ = np.linalg.lstsq(cell_terms(train), residual, rcond=None)
    test = source.structures(split["test"])
    corrected = test_error + cell_terms(test) @ weights
    return {
        "before": float(np.mean(1000 * np.abs(test_error) / areas(test))),
        "after": float(np.mean(1000 * np.abs(corrected) / areas(test))),
    }


def transfer_figure(rows: dict, path: Path) -> None:
    plt = pyplot()
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
    source = StructureFile(train_file)
    test = labelled_split(source, 0, 0.1, 0.1)["test"]
    placements = {"as generated": source.structures(test)}
    placements["translated"] = translated(placements["as generated"], np.random.default_rng(TRANSLATION_SEED))
    print(f"60-site test split (N={len(test)}): mean |error| in meV/Å² (median), meV/atom, eV/cell")
    print(f"{'model':38} {'placement':13} {'mean':>7} {'(median)':>9} {'meV/atom':>9} {'eV/cell':>8}  paper (DFT)")
    models = {}
    errors: dict[str, np.ndarray] = {}  # per model, eV per translated test sheet
    for label, (stem, paper) in MODELS.items():
        path = args.models / f"{stem}.safetensors"
        if not path.is_file():
            print(f"{label:38} (no model {path})")
            continue
        models[label] = model = ednn.load(path)
        results["test"][label] = {}
        for placement, structures in placements.items():
            result = evaluate_structures(model, structures, source.energy[test])
            s = result["summary"]
            results["test"][label][placement] = s
            print(
                f"{label:38} {placement:13} {s['mean_abs_meV_per_A2']:7.2f} ({s['median_abs_meV_per_A2']:7.2f}) "
                f"{s['mean_abs_meV_per_atom']:9.2f} {s['mean_abs_eV']:8.3f}  {paper or ''}"
            )
            if placement == "translated":
                errors[label] = np.asarray(result["predicted"]) - source.energy[test]
                parity_plot(
                    result["predicted"],
                    result["true"],
                    result["n_atoms"],
                    figures / f"hexsheets-fig5-{Path(stem).name}.png",
                    f"{label} on the 60-site test split, randomly translated",
                    unit="eV",
                    site="atom",
                )
        if label in TRANSFER_OF:  # the EDNNs also averaged over placements of the pixel grid
            s = evaluate_structures(model, placements["translated"], source.energy[test], PLACEMENTS)["summary"]
            results["test"][label][f"translated, {PLACEMENTS} placements"] = s
            print(
                f"{label:38} {'+ ' + str(PLACEMENTS) + ' placem.':13} {s['mean_abs_meV_per_A2']:7.2f} "
                f"({s['median_abs_meV_per_A2']:7.2f}) {s['mean_abs_meV_per_atom']:9.2f} {s['mean_abs_eV']:8.3f}  "
                f"{paper or ''}"
            )
    split = labelled_split(source, 0, 0.1, 0.1)
    features = {k: local_features(source.structures(split[k])) for k in ("train", "test")}
    weights, *_ = np.linalg.lstsq(features["train"], source.energy[split["train"]], rcond=None)
    linear_error = features["test"] @ weights - source.energy[test]
    results["local_linear_fit_eV"] = {"mean_abs": float(np.abs(linear_error).mean()), "std": float(linear_error.std())}
    print(
        f"\nlinear fit on element counts, bond-type counts and bond strain (train split): test mean |error| "
        f"{np.abs(linear_error).mean():.2f} eV per cell, std {linear_error.std():.2f} eV"
    )
    results["transfer"] = {}
    for label in TRANSFER_OF:
        if label not in models:
            continue
        results.setdefault("breakdown_eV", {})[label] = parts = breakdown(source, test, errors[label])
        seen = split["train"][: len(test)]  # as many training sheets: is the model short of fitting them?
        fitted = evaluate_structures(
            models[label],
            translated(source.structures(seen), np.random.default_rng(TRANSLATION_SEED)),
            source.energy[seen],
        )["summary"]["mean_abs_eV"]
        results.setdefault("train_sample_mean_abs_eV", {})[label] = fitted
        print(
            f"{label}: mean |error| {fitted:.3f} eV per cell on {len(seen)} translated training sheets, "
            f"{np.abs(errors[label]).mean():.3f} on the test sheets"
        )
        print(
            f"{label}, translated test sheets, mean |error| per cell (eV) by kind: "
            + ", ".join(f"{k} {v:.2f}" for k, v in parts["kind"].items())
            + "; by vacancies: "
            + ", ".join(f"{k}: {v:.2f}" for k, v in parts["vacancies"].items())
        )
        print(
            f"{label}, by kind without / with vacancies: "
            + ", ".join(f"{k} {v:.2f}" for k, v in parts["kind_and_vacancies"].items())
        )
        base = results["test"][label]["translated"]
        rows = {60: dict(base, gfn1xtb_seconds_median=float(np.median(source.label_seconds[source.labelled])))}
        print(
            f"\ntransfer of {label}, randomly translated cells (target: mean error per Å² <= 1.5x the 60-site figure)"
        )
        for n_sites, name in TRANSFER_FILES.items():
            if not (args.data / name).is_file() or not StructureFile(args.data / name).labelled.any():
                print(f"  {n_sites} sites: no labelled {name}")
                continue
            s = transfer(models[label], args.data / name)["summary"]
            rows[n_sites] = s
            ratio = s["mean_abs_meV_per_A2"] / base["mean_abs_meV_per_A2"]
            print(
                f"  {n_sites} sites (N={s['n']}): median {s['median_abs_meV_per_A2']:.3f}, mean "
                f"{s['mean_abs_meV_per_A2']:.3f} meV/Å² ({ratio:.2f}x the 60-site mean); EDNN "
                f"{1000 * s['seconds_per_structure']:.1f} ms vs GFN1-xTB {s['gfn1xtb_seconds_median']:.1f} s"
            )
        results["transfer"][label] = {str(k): v for k, v in rows.items()}
        transfer_figure(rows, figures / f"hexsheets-fig9-transfer-{Path(MODELS[label][0]).name}.png")
    pairs = [
        ("EDNN, local density", "EDNN, local density, wider"),
        ("EDNN, local density", "EDNN, local density, charge eq."),
    ]
    for pair in pairs:
        if not all(label in errors for label in pair):
            continue
        shared = shared_error(source, test, *(errors[label] for label in pair))
        results.setdefault("shared_error", {})[" & ".join(pair)] = shared
        print(
            f"\n{pair[0]} and {pair[1]}: correlation of their errors on the translated test sheets "
            f"{shared['correlation']:.2f}; their mean {shared['mean_of_both_meV_per_A2']:.2f} meV/Å²; hBN "
            f"with vacancies: correlation of |error| with the electron excess |N - B| "
            f"{shared['hbn_vacancies_abs_error_vs_electron_excess']:.2f}"
        )
    pair = pairs[0]
    if all(label in errors for label in pair):
        results["whole_cell_terms_meV_per_A2"] = terms = with_cell_terms(
            models[pair[0]], source, split, errors[pair[0]]
        )
        print(
            f"{pair[0]} plus whole-cell terms in q = N - B and vacancies fitted to its training residuals: "
            f"{terms['before']:.2f} -> {terms['after']:.2f} meV/Å² on the translated test sheets"
        )
    results["made_with"] = {
        "machine": f"{platform.machine()}, 1 thread",
        "torch": torch.__version__,
        "date": datetime.date.today().isoformat(),
        "load_average": os.getloadavg()[0],
    }
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    (args.out / "results" / "hexsheets_accuracy.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
