"""A grid model as a `torch.export` program file (.pt2): grids (N, C, *spatial) float32 in, totals
(N, outputs) float64 out; `torch.export.load(path).module()` runs it without ednn."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ednn.core.model import EDNN
from ednn.export.totals import check_agreement, export_program
from ednn.io.atomic import atomic_path


def export_torch(model: EDNN, path: str | os.PathLike) -> Path:
    """Write `model`'s `torch.export` program to `path` (atomically, by `torch.export.save`), read back
    and checked against `model.predict` on two grid sizes; returns the path."""
    path = Path(path)
    program = export_program(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:  # a handle: torch.export.save wants a name ending in .pt2 otherwise
            torch.export.save(program, handle)
        with open(tmp, "rb") as handle:
            run = torch.export.load(handle).module()

        def totals(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return run(torch.from_numpy(x)).numpy()

        check_agreement(model, totals, "saved torch.export program")
    return path
