"""Resuming a simulation file: what differs between the run it holds and the run requested,
in words (MD trajectories and MC sample files both refuse a resume with other settings)."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from ase import Atoms


def setting_differences(stored: Mapping[str, Any], requested: Mapping[str, Any],
                        names: Mapping[str, tuple[str, str]]) -> list[str]:
    """'name: value unit in file, value unit requested' for each setting in `names` that differs."""
    def text(value: Any, unit: str) -> str:
        if isinstance(value, (float, np.floating)):
            value = np.format_float_positional(value, trim="-")
        return f"{value} {unit}".strip() if value is not None else "none"

    return [f"{name}: {text(stored.get(key), unit)} in file, {text(requested[key], unit)} requested"
            for key, (name, unit) in names.items() if stored.get(key) != requested[key]]


def structure_difference(stored: Atoms, requested: Atoms) -> str | None:
    """A message when `requested` is not `stored` (elements, cell, positions modulo the cell), else None."""
    same = (np.array_equal(stored.numbers, requested.numbers)
            and np.allclose(stored.cell.array, requested.cell.array, rtol=0, atol=1e-9))
    if same:
        shift = stored.cell.scaled_positions(stored.positions) - stored.cell.scaled_positions(requested.positions)
        same = np.allclose(shift - np.round(shift), 0, rtol=0, atol=1e-9)
    return None if same else (f"starting structure: {stored.get_chemical_formula()} in file, "
                              f"a different {requested.get_chemical_formula()} requested")
