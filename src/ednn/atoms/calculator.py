"""Forces from a trained EDNN, by autograd through the Gaussian renderer, and an ASE calculator.

E(positions) = scale · Σ_tiles net(tile of the image) + extensive offsets, where the image is
the differentiable rendering of eq. 2; F = −∂E/∂r in the plane, and 0 along z (the images are
2D). Stress is not offered: the model's pixel size is fixed, so its energy is defined only for
cells that are whole numbers of focus regions, and not for the strained cells a stress needs.
A model is known by its content (`model_identity`), whatever its file is called.
"""

from __future__ import annotations

import copy
import hashlib
import json

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ednn.atoms.render import render
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN

PRECISIONS = {"float32": torch.float32, "float64": torch.float64}


def model_identity(model: EDNN) -> str:
    """'ednn model <12 hex digits>': a SHA-256 of what fixes the model's outputs: its network's
    class, geometry and imaging, and its parameters and buffers (names, dtypes, shapes, bytes).

    Equal for the same model however it was loaded, copied or renamed; another model differs.
    """
    config = {"net": type(model.net).__qualname__, "focus": model.focus, "context": model.context,
              "imaging": None if model.imaging is None else model.imaging.to_dict()}
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return f"ednn model {digest.hexdigest()[:12]}"


def _require_atoms(model: EDNN):
    if model.imaging is None:
        raise EDNNError("this model was trained on grids, not atoms: it has no energy of atoms, and no forces")
    return model.imaging


def _network_in(model: EDNN, precision: str) -> EDNN:
    if precision not in PRECISIONS:
        raise EDNNError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    _require_atoms(model)
    model = model.eval()
    return model if precision == "float32" else copy.deepcopy(model).to(PRECISIONS[precision])


def energy_and_forces(model: EDNN, atoms: Atoms, *, forces: bool = True) -> tuple[float, np.ndarray | None]:
    """Total energy (eV) and forces (natoms, 3) in eV/Å of one structure (None without `forces`).

    The network runs in the dtype of its parameters (float32 as trained: the energy equals
    `predict_atoms`; a float64 copy gives forces that match finite differences to ~1e-8).
    """
    imaging = _require_atoms(model)
    dtype = next(model.net.parameters()).dtype
    shape = imaging.grid_shape(atoms, model.focus)
    positions = torch.tensor(atoms.positions[:, :2], dtype=torch.float64, requires_grad=forces)
    with torch.set_grad_enabled(forces):
        image = render(positions, atoms.numbers, (float(atoms.cell[0, 0]), float(atoms.cell[1, 1])), shape,
                       gamma=imaging.gamma, elements=imaging.elements if imaging.per_element else None, dtype=dtype)
        sums = model.tile_outputs(image.movedim(-1, 0)[None]).double().reshape(1, -1, model.sums).sum(1)
        intensity = image.double().sum(dim=(0, 1))[None]
        energy = model.to_physical(model.combine(sums), shape[0] * shape[1], intensity)[0, 0]
    if not forces:
        return float(energy), None
    (gradient,) = torch.autograd.grad(energy, positions)
    result = np.zeros((len(atoms), 3))
    result[:, :2] = -gradient.numpy()
    return float(energy.detach()), result


class EDNNCalculator(Calculator):
    """ASE calculator of a trained atom EDNN: energy (eV) and forces (eV/Å, z = 0).

    precision 'float32' (as trained; energies equal `model.predict_atoms` to ~1e-12 relative)
    or 'float64' (a double copy of the network: forces match finite differences closely;
    energies differ from float32 by float32 rounding, ~1e-7 relative).
    `identity` names the model by its content (`model_identity`), with the precision if not float32.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model: EDNN, precision: str = "float32", **kwargs):
        super().__init__(**kwargs)
        self.model = _network_in(model, precision)
        self.identity = model_identity(model) + ("" if precision == "float32" else f" ({precision})")

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        energy, forces = energy_and_forces(self.model, self.atoms, forces="forces" in properties)
        self.results = {"energy": energy, "free_energy": energy}
        if forces is not None:
            self.results["forces"] = forces
