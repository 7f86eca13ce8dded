"""Record committed models' predictions before the re-layout (issue 21), for
tests/integration/test_committed_predictions.py: `python tests/data/record_committed_predictions.py`.

Recorded at 765d3cd, when every model lay in models/ under its old name; the JSON stays keyed by those
names, so the loop finds each model on the curated shelf (models/, models/ablations/) by ednn.io.shelf.MOVED."""

import json
from pathlib import Path

import numpy as np
import torch

torch.set_num_threads(1)
import ednn
from ednn.io.shelf import MOVED
from ednn.io.structures import StructureFile

root = Path(__file__).resolve().parents[2]
out = {}
rng = np.random.default_rng(2026)
spins = rng.choice([-1, 1], size=(3, 16, 16))
sheets = StructureFile(root / "datasets/hexsheets-60.h5").structures([0, 1, 2, 3])
big = StructureFile(root / "datasets/hexsheets-240.h5").structures([0])
porous = StructureFile(root / "datasets/porous-graphene-rebo-sample.h5").structures([0, 1])
old_names = {new: old for old, new in MOVED.items()}
shelf = {
    old_names.get(str(p.relative_to(root / "models")), p.name): p for p in (root / "models").rglob("*.safetensors")
}
for name, path in sorted(shelf.items()):
    m = ednn.load(path)
    rec = {}
    if m.imaging is None:
        rec["predict"] = m.predict(spins).tolist()
        rec["contributions_sum"] = m.contributions(spins).reshape(3, -1).sum(1).tolist()
        rec["contributions_00"] = m.contributions(spins)[:, 0, 0].tolist()
        from ednn.systems.ising.tile_energy import TileEnergy

        if m.tile**2 <= 16:
            rec["tile_table"] = TileEnergy.from_model(m).energy(spins).tolist()
    else:
        structs = porous if "porous" in name else sheets + big
        rec["predict_atoms"] = m.predict_atoms(structs).tolist()
        atoms = structs[0].copy()
        atoms.calc = m.calculator()
        rec["energy"] = float(atoms.get_potential_energy())
        rec["forces"] = atoms.get_forces()[:6].tolist()
        from ednn.atoms.bins import AtomBins
        from ednn.atoms.blocks import stream_energy

        rec["stream_2x2"] = stream_energy(m, AtomBins.from_atoms(structs[0].repeat((2, 2, 1))), block_pixels=48)
    out[name] = rec
    print(name, next(iter(rec.values()))[:2], flush=True)
(root / "tests/data/committed_predictions.json").write_text(
    json.dumps(
        {
            "_note": "recorded at 765d3cd, before the re-layout of issue 21, by "
            "tests/data/record_committed_predictions.py (one torch thread)",
            "models": out,
        },
        indent=1,
    )
)
