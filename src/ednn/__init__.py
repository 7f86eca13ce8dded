"""ednn: extensive deep neural networks for periodic systems of any size.

Public surface: `ednn.load(path, device="cpu")` returns a trained model (an `EDNN`, or for
atoms an `AtomEDNN`):

- `model.predict(x)`: float64 totals of grids (N, *spatial[, C]) of any size that is a whole
  number of focus regions; `model.contributions(x)`: the map of each focus region's share.
- `model.predict_atoms(structures, placements=1)`: total energies (eV) of ase.Atoms
  (atom models); `model.calculator(dtype=..., device=...)`: an ASE calculator with forces.
- `model.focus`, `model.context` (pixels), `model.targets`, `model.imaging` (atom models:
  pixel size, Gaussian width, elements), `model.info` (training data, settings, test errors),
  `model.device`; `model.to(device)` moves it.

The rest of the model's methods are its machinery; calling the module itself (`model(x)`) takes
channel-first tensors and gives scaled totals — use `predict`. The command line: `ednn --help`.
The package imports torch only when a model is first asked for.
"""

from importlib.metadata import version
from typing import Any

from ednn.core.errors import EDNNError

__all__ = ["EDNN", "AtomEDNN", "EDNNError", "load", "save_model"]
__version__ = version("ednn")

_LAZY = {
    "EDNN": ("ednn.core.model", "EDNN"),
    "AtomEDNN": ("ednn.atoms.model", "AtomEDNN"),
    "load": ("ednn.io.model_file", "load"),
    "save_model": ("ednn.io.model_file", "save_model"),
}


def __getattr__(name: str) -> Any:
    """`ednn.load`, `ednn.save_model`, `ednn.EDNN`, `ednn.AtomEDNN`, imported on first use (they need torch)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ednn' has no attribute {name!r}")
    from importlib import import_module

    module, attribute = _LAZY[name]
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value
