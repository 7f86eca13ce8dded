"""What does an established local model reach on the hexagonal sheets? An atom-centred network.

The EDNN's rival among machine-learned potentials: Behler–Parrinello atom-centred symmetry
functions (dscribe's ACSF: radial G2 per neighbour element, angular G4 per pair of
elements, within `--cutoff` Å) for every atom, one small network per element, the energy
the sum over atoms — trained on the same 60-site GFN1-xTB split as the EDNNs, on a Huber
loss (quadratic up to 0.05 of the energy spread). `--charge-equilibration` adds a global
term: each atom also gives an electronegativity χ and a softness w > 0, and electrons flow
between atoms to one chemical potential, E += −½ Σ w (χ − λ)², λ = Σ w χ / Σ w (still a
few sums over atoms, so extensive). Prints the test error in meV/Å² beside the paper's
EDNN figure. Needs `pip install 'ednn[compare]'` (dscribe).

    python benchmarks/hexsheets_atom_centred.py [--cutoff 6] [--charge-equilibration] [--train-fraction 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

ELEMENTS = (5, 6, 7)
PAPER_EDNN_MEV_PER_A2 = 1.122


def symmetry_functions(structures: list, cutoff: float, workers: int) -> list[np.ndarray]:
    """ACSF features (atoms, F) of each structure."""
    try:
        from dscribe.descriptors import ACSF
    except ImportError:
        raise SystemExit("this benchmark needs dscribe: pip install 'ednn[compare]'") from None
    centres = np.arange(0.8, cutoff, 0.25)
    g2 = [[1 / (2 * 0.25**2), r] for r in centres]
    g4 = [[eta, zeta, lam] for eta in (0.3, 0.1, 0.02) for zeta in (1, 4, 16) for lam in (1, -1)]
    acsf = ACSF(r_cut=cutoff, g2_params=g2, g4_params=g4, species=list(ELEMENTS), periodic=True, dtype="float32")
    features = acsf.create(structures, n_jobs=workers)
    return list(features) if isinstance(features, list) else [features]


class AtomEnergies(torch.nn.Module):
    """One network per element: features (atoms, F) -> (atoms, 1 or 3) [e, χ, s]."""

    def __init__(self, n_features: int, outputs: int, hidden: int = 128):
        super().__init__()
        self.nets = torch.nn.ModuleList(
            torch.nn.Sequential(
                torch.nn.Linear(n_features, hidden),
                torch.nn.SiLU(),
                torch.nn.Linear(hidden, hidden),
                torch.nn.SiLU(),
                torch.nn.Linear(hidden, outputs),
            )
            for _ in ELEMENTS
        )
        self.outputs = outputs

    def forward(
        self, features: torch.Tensor, element: torch.Tensor, structure: torch.Tensor, n_structures: int
    ) -> torch.Tensor:
        """Energies (n_structures,) in units of the scale; element: index into ELEMENTS per atom."""
        out = torch.zeros(len(features), self.outputs)
        for k, net in enumerate(self.nets):
            mine = element == k
            out[mine] = net(features[mine])
        total = torch.zeros(n_structures).index_add_(0, structure, out[:, 0])
        if self.outputs == 1:
            return total
        chi, w = out[:, 1], torch.nn.functional.softplus(out[:, 2]) + 1e-3
        sums = [torch.zeros(n_structures).index_add_(0, structure, v) for v in (w, w * chi, w * chi * chi)]
        return total - 0.5 * (sums[2] - sums[1] ** 2 / sums[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("datasets/hexsheets-60.h5"))
    parser.add_argument("--cutoff", type=float, default=6.0, help="symmetry functions' cut-off, Å")
    parser.add_argument("--charge-equilibration", action="store_true")
    parser.add_argument("--train-fraction", type=float, default=1.0, help="use only this share of the training split")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes for the symmetry functions")
    args = parser.parse_args()
    from ednn.io.structures import StructureFile
    from ednn.train.structures import areas, labelled_split

    torch.set_num_threads(1)
    start = time.perf_counter()
    source = StructureFile(args.data)
    split = labelled_split(source, 0, 0.1, 0.1)
    split["train"] = split["train"][: int(round(args.train_fraction * len(split["train"])))]
    sets = {}
    for name, index in split.items():
        structures = source.structures(index)
        features = symmetry_functions(structures, args.cutoff, args.workers)
        element = np.concatenate([np.searchsorted(ELEMENTS, s.numbers) for s in structures])
        counts = np.array([[np.sum(s.numbers == z) for z in ELEMENTS] for s in structures], dtype=float)
        owner = np.repeat(np.arange(len(index)), [len(s) for s in structures])
        sets[name] = dict(
            x=torch.from_numpy(np.concatenate(features)),
            element=torch.from_numpy(element),
            structure=torch.from_numpy(owner),
            n=len(index),
            energy=source.energy[index],
            counts=counts,
            area=areas(structures),
        )
    print(
        f"{len(split['train'])} training sheets; symmetry functions {tuple(sets['train']['x'].shape)} "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    mean, spread = sets["train"]["x"].mean(0), sets["train"]["x"].std(0) + 1e-6
    reference, *_ = np.linalg.lstsq(sets["train"]["counts"], sets["train"]["energy"], rcond=None)
    scale = float(np.std(sets["train"]["energy"] - sets["train"]["counts"] @ reference))
    for data in sets.values():
        data["x"] = (data["x"] - mean) / spread
        data["target"] = torch.tensor((data["energy"] - data["counts"] @ reference) / scale, dtype=torch.float32)
    torch.manual_seed(args.seed)
    model = AtomEnergies(sets["train"]["x"].shape[1], 3 if args.charge_equilibration else 1)
    train = sets["train"]
    atoms_of = np.split(np.arange(len(train["x"])), np.cumsum(np.bincount(train["structure"].numpy()))[:-1])
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, args.epochs)

    def errors(data: dict) -> np.ndarray:
        with torch.no_grad():
            predicted = model(data["x"], data["element"], data["structure"], data["n"]).double().numpy()
        return 1000 * np.abs(predicted - data["target"].double().numpy()) * scale / data["area"]

    for epoch in range(args.epochs):
        order = np.random.default_rng([args.seed, epoch]).permutation(train["n"])
        for batch in np.array_split(order, max(1, train["n"] // 32)):
            atoms = torch.from_numpy(np.concatenate([atoms_of[k] for k in batch]))
            local = torch.from_numpy(np.repeat(np.arange(len(batch)), [len(atoms_of[k]) for k in batch]))
            predicted = model(train["x"][atoms], train["element"][atoms], local, len(batch))
            loss = torch.nn.functional.huber_loss(predicted, train["target"][torch.from_numpy(batch)], delta=0.05)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        schedule.step()
        if (epoch + 1) % 25 == 0:
            print(
                f"epoch {epoch + 1}: train {errors(train).mean():.2f}, validation {errors(sets['val']).mean():.2f} "
                f"meV/Å² ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    test = errors(sets["test"])
    kind = "with charge equilibration" if args.charge_equilibration else "local"
    print(
        f"atom-centred network ({kind}, cut-off {args.cutoff} Å, {len(split['train'])} training sheets): "
        f"test MAE {test.mean():.2f} meV/Å² (median {np.median(test):.2f}); paper's EDNN "
        f"{PAPER_EDNN_MEV_PER_A2}; {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
