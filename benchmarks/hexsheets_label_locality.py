"""How local are the 60-site GFN1-xTB labels? A sheet against a quarter of its 2 × 2 repetition.

Any extensive model that sees less than the cell — an EDNN, an atom-centred potential —
gives a sheet and its 2 × 2 repetition (same atoms, four times over) energies in the ratio
1 : 4 exactly. GFN1-xTB in tblite samples only the Γ point of the periodic cell, so a
60-site cell's electrons see the cell's own periodic copies: its energy E₆₀ need not be a
quarter of E₂₄₀. Δ = E₆₀ − E₂₄₀/4 per sheet is thus error that no such model can learn from
60-site labels. For test sheets sampled evenly over kinds, with and without vacancies, this
prints Δ — raw and after the best fit in element counts (leave-one-out), which a model
could absorb — beside the local-density EDNN's |error| against E₆₀ and against E₂₄₀/4.

    python benchmarks/hexsheets_label_locality.py [--per-group 4] [--workers 2]   # ~25 min
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
from pathlib import Path

import numpy as np


def supercell_energy(task: tuple[int, object]) -> tuple[int, float]:
    """(index, GFN1-xTB energy in eV of the sheet repeated 2 × 2 in the plane)."""
    from ednn.references.label import make_calculator

    index, atoms = task
    big = atoms.repeat((2, 2, 1))
    big.calc = make_calculator("gfn1-xtb")
    return index, float(big.get_potential_energy())


def leave_one_out_residual(features: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values minus their least-squares fit on features, each left out of its own fit."""
    out = np.empty(len(values))
    for k in range(len(values)):
        keep = np.arange(len(values)) != k
        coef, *_ = np.linalg.lstsq(features[keep], values[keep], rcond=None)
        out[k] = values[k] - features[k] @ coef
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/ablations/hexsheets-gfn1xtb-density.safetensors"))
    parser.add_argument("--data", type=Path, default=Path("datasets/hexsheets-60.h5"))
    parser.add_argument("--per-group", type=int, default=4, help="test sheets per kind, with and without vacancies")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/results/hexsheets_label_locality.json"))
    args = parser.parse_args()
    import torch
    from tqdm import tqdm

    import ednn
    from ednn.io.structures import StructureFile
    from ednn.references.workers import finished_batches
    from ednn.train.structures import areas, labelled_split

    torch.set_num_threads(1)
    source = StructureFile(args.data)
    test = labelled_split(source, 0, 0.1, 0.1)["test"]
    vacancies = source.n_atoms[test] < source.n_atoms.max()
    groups = [f"{kind}, {'with' if vac else 'no'} vacancies" for kind, vac in zip(source.kind[test], vacancies)]
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(np.array(groups) == g))[: args.per_group] for g in sorted(set(groups))]
        )
    )
    index = test[chosen]
    structures = source.structures(index)
    e60 = source.energy[index]
    e240 = np.empty(len(index))
    with (
        finished_batches(supercell_energy, enumerate(structures), args.workers) as batches,
        tqdm(total=len(index), desc="GFN1-xTB, 2 × 2 sheets") as bar,
    ):
        for batch in batches:
            for k, energy in batch:
                e240[k] = energy
            bar.update(len(batch))
    delta = e60 - e240 / 4
    counts = np.stack([np.ones(len(index))] + [[np.sum(s.numbers == z) for s in structures] for z in (5, 6, 7)], 1)
    delta_left = leave_one_out_residual(counts, delta)
    predicted = ednn.load(args.model).predict_atoms(structures)
    per_area = 1000 / areas(structures)  # eV per cell -> meV/Å²
    rows = {
        "|Δ|": np.abs(delta),
        "|Δ| beyond counts": np.abs(delta_left),
        "|model − E60|": np.abs(predicted - e60),
        "|model − E240/4|": np.abs(predicted - e240 / 4),
    }
    chosen_groups = np.array(groups)[chosen]
    print(
        f"{len(index)} test sheets, {args.per_group} per group; mean in meV/Å² (eV per 60-site cell); "
        f"Δ = E60 − E240/4, model = {args.model.stem}"
    )
    print(f"{'':30}" + "".join(f"{name:>20}" for name in rows))
    for g in [None] + sorted(set(chosen_groups)):
        inside = np.ones(len(index), bool) if g is None else chosen_groups == g
        cells = "".join(
            f"{np.mean(v[inside] * per_area[inside]):11.2f} ({np.mean(v[inside]):.3f})" for v in rows.values()
        )
        print(f"{'all' if g is None else g:30}{cells}")
    print("paper's target for the model: 1.122 meV/Å²")
    summary = {name: float(np.mean(v * per_area)) for name, v in rows.items()}
    args.out.write_text(
        json.dumps(
            {
                "command": "python benchmarks/hexsheets_label_locality.py "
                f"--per-group {args.per_group} --seed {args.seed}",
                "date": datetime.date.today().isoformat(),
                "machine": f"{platform.machine()}, no GPU",
                "mean_abs_meV_per_A2": summary,
                "sheets": [
                    {"index": int(i), "group": g, "e60_eV": float(a), "e240_eV": float(b), "model_eV": float(p)}
                    for i, g, a, b, p in zip(index, chosen_groups, e60, e240, predicted)
                ],
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
