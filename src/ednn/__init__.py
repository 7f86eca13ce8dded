"""ednn: extensive deep neural networks for periodic systems of any size.

Public surface: `ednn.load(path)` returns a trained `EDNN`, whose `predict(x)` gives
float64 totals of grids of any size that is a whole number of focus regions.
"""

from importlib.metadata import version

from ednn.errors import EDNNError
from ednn.model import EDNN
from ednn.model_file import load, save_model

__all__ = ["EDNN", "EDNNError", "load", "save_model"]
__version__ = version("ednn")
