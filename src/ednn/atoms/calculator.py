"""Forces from a trained EDNN, by autograd through the Gaussian renderer, and an ASE calculator.

E(positions) = scale · Σ_tiles net(tile of the image) + extensive offsets, where the image is
the differentiable rendering of eq. 2; F = −∂E/∂r in the plane, and 0 along z (the images are
2D). Stress is not offered: the model's pixel size is fixed, so its energy is defined only for
cells that are whole numbers of focus regions, and not for the strained cells a stress needs.
A model is known by its content (`EDNN.identity`), whatever its file is called.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ednn.atoms.render import render
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN, grids_only

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _dtype(dtype: torch.dtype | str) -> torch.dtype:
    chosen = DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype
    if chosen not in DTYPES.values():
        raise EDNNError(f"dtype (precision) must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return chosen


def energy_and_forces(model: EDNN, atoms: Atoms, *, forces: bool = True) -> tuple[float, np.ndarray | None]:
    """Total energy (eV) and forces (natoms, 3) in eV/Å of one structure (None without `forces`).

    The image is rendered and the network runs in the dtype and on the device of the model's
    parameters (float32 as trained: the energy equals `predict_atoms`; a float64 copy gives forces
    that match finite differences to ~1e-8).
    """
    imaging = model.imaging
    shape = imaging.grid_shape(atoms, model.focus)
    positions = torch.tensor(atoms.positions[:, :2], dtype=torch.float64, requires_grad=forces)
    with torch.set_grad_enabled(forces):
        image = render(
            positions.to(model.device),
            atoms.numbers,
            (float(atoms.cell[0, 0]), float(atoms.cell[1, 1])),
            shape,
            gamma=imaging.gamma,
            elements=imaging.elements if imaging.per_element else None,
            dtype=model.dtype,
        )
        sums = model.tile_outputs(image.movedim(-1, 0)[None]).double().reshape(1, -1, model.target.sums).sum(1)
        intensity = image.double().sum(dim=(0, 1))[None]
        energy = model.target.total(sums, shape[0] * shape[1], intensity)[0, 0]
    if not forces:
        return float(energy), None
    (gradient,) = torch.autograd.grad(energy, positions)
    result = np.zeros((len(atoms), 3))
    result[:, :2] = -gradient.cpu().numpy()
    return float(energy.detach()), result


class EDNNCalculator(Calculator):
    """ASE calculator of a trained atom EDNN: energy (eV) and forces (eV/Å, z = 0).

    dtype 'float32' (as trained; energies equal `model.predict_atoms` to ~1e-12 relative) or
    'float64' (a double copy of the network: forces match finite differences closely; energies
    differ from float32 by float32 rounding, ~1e-7 relative); device: where the network runs
    (default: the model's). `identity` names the model by its content (`EDNN.identity`), with
    the dtype if not float32.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(
        self, model: EDNN, dtype: torch.dtype | str = torch.float32, device: torch.device | str | None = None, **kwargs
    ):
        super().__init__(**kwargs)
        if getattr(model, "imaging", None) is None:
            raise grids_only("it has no energy of atoms, and no forces")
        dtype = _dtype(dtype)
        device = model.device if device is None else torch.device(device)
        identity = model.identity()  # of the model as given, before any copy
        if dtype != model.dtype or device != model.device:
            model = copy.deepcopy(model).to(device)
            model.net.to(dtype)  # the network only: the physical total (`Target`) stays float64
        self.model = model.eval()
        name = next(k for k, v in DTYPES.items() if v == dtype)
        self.identity = identity + ("" if name == "float32" else f" ({name})")

    def calculate(self, atoms: Atoms | None = None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        energy, forces = energy_and_forces(self.model, self.atoms, forces="forces" in properties)
        self.results = {"energy": energy, "free_energy": energy}
        if forces is not None:
            self.results["forces"] = forces
