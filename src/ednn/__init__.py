"""ednn: extensive deep neural networks for periodic systems of any size.

Public surface: `ednn.load(path)` returns a trained `EDNN`:

- `model.predict(x)`: float64 totals of grids (N, *spatial[, C]) of any size that is a whole
  number of focus regions; `model.contributions(x)`: the map of each focus region's share.
- `model.predict_atoms(structures, placements=1)`: total energies (eV) of ase.Atoms
  (atom models); `model.calculator()`: an ASE calculator with forces.
- `model.focus`, `model.context` (pixels), `model.targets`, `model.imaging` (atom models:
  pixel size, Gaussian width, elements), `model.info` (training data, settings, test errors).

The rest of `EDNN`'s methods are its machinery; calling the module itself (`model(x)`) takes
padded tensors and gives scaled totals — use `predict`. The command line: `ednn --help`.
"""

from importlib.metadata import version

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.io.model_file import load, save_model

__all__ = ["EDNN", "EDNNError", "load", "save_model"]
__version__ = version("ednn")
