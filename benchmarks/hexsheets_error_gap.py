"""Do the local-density EDNN's errors on hexagonal sheets follow the sheets' electronic gap?

For every 60-site test sheet: GFN1-xTB (tblite, the labels' settings) orbital energies and
occupations, the gap between the highest level holding more than one electron and the
next, and the number of fractionally occupied electrons Σ min(n, 2 − n) (large for metallic
sheets, whose electrons are not local); beside them the EDNN's |error| on the randomly
translated sheets (as `hexsheets_accuracy.py`). Prints mean |error| by gap and correlations.

    python benchmarks/hexsheets_error_gap.py [--model M] [--workers 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.units import Bohr, Hartree

from hexsheets_accuracy import TRANSLATION_SEED

GAP_BINS_EV = (0.0, 0.05, 0.2, 0.5, 1.0, np.inf)


def levels(task: tuple[int, object]) -> tuple[int, float, float]:
    """(index, gap in eV, fractionally occupied electrons) of one (index, sheet) from a
    GFN1-xTB single point."""
    from tblite.interface import Calculator

    index, atoms = task
    calc = Calculator(
        "GFN1-xTB",
        atoms.numbers,
        atoms.positions / Bohr,
        lattice=atoms.cell.array / Bohr,
        periodic=np.array([True, True, True]),
    )
    calc.set("verbosity", 0)
    result = calc.singlepoint()
    energy, occupation = result.get("orbital-energies"), result.get("orbital-occupations")
    top = np.flatnonzero(occupation > 1.0).max()
    return index, float((energy[top + 1] - energy[top]) * Hartree), float(np.minimum(occupation, 2 - occupation).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/ablations/hexsheets-gfn1xtb-density.safetensors"))
    parser.add_argument("--data", type=Path, default=Path("datasets/hexsheets-60.h5"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import torch
    from tqdm import tqdm

    import ednn
    from ednn.io.structures import StructureFile
    from ednn.references.workers import finished_batches
    from ednn.train.structures import areas, labelled_split, translated

    torch.set_num_threads(1)
    source = StructureFile(args.data)
    test = labelled_split(source, 0, 0.1, 0.1)["test"]
    structures = source.structures(test)
    moved = translated(structures, np.random.default_rng(TRANSLATION_SEED))
    error = 1000 * np.abs(ednn.load(args.model).predict_atoms(moved) - source.energy[test]) / areas(structures)
    gap, fractional = np.empty(len(test)), np.empty(len(test))
    with (
        finished_batches(levels, enumerate(structures), args.workers) as batches,
        tqdm(total=len(test), desc="GFN1-xTB levels") as bar,
    ):
        for batch in batches:
            for index, sheet_gap, sheet_fractional in batch:
                gap[index], fractional[index] = sheet_gap, sheet_fractional
            bar.update(len(batch))
    print(f"{args.model.name} on {len(test)} translated test sheets: mean |error| {error.mean():.2f} meV/Å²")
    print(f"{'gap (eV)':>14} {'sheets':>7} {'mean |error| meV/Å²':>20}")
    for low, high in zip(GAP_BINS_EV[:-1], GAP_BINS_EV[1:]):
        inside = (gap >= low) & (gap < high)
        if inside.any():
            print(f"{low:6.2f}–{high:<6.2f} {inside.sum():7d} {error[inside].mean():20.2f}")
    print(
        f"correlation of |error| with the gap {np.corrcoef(error, gap)[0, 1]:.2f}, "
        f"with the fractionally occupied electrons {np.corrcoef(error, fractional)[0, 1]:.2f}"
    )


if __name__ == "__main__":
    main()
