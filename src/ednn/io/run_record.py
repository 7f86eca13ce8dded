"""Resuming a run (a training folder, an MD trajectory, an MC sample file, a generated data file):
what differs between the run it holds and the run requested, in words, and the one refusal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError


def _plain(value: Any) -> Any:
    """A stored value as Python compares it: HDF5 attributes come back as NumPy arrays and scalars."""
    return value.tolist() if isinstance(value, (np.ndarray, np.generic)) else value


def _setting_differences(
    stored: Mapping[str, Any], requested: Mapping[str, Any], names: Mapping[str, tuple[str, str]] | None = None
) -> list[str]:
    """'name: value unit in file, value unit requested' for each setting in `names`
    (key -> (name, unit); default every requested key, by its key, without a unit) that differs."""

    def text(value: Any, unit: str) -> str:
        if isinstance(value, float):
            value = np.format_float_positional(value, trim="-")
        return f"{value} {unit}".strip() if value is not None else "none"

    names = names or {key: (key, "") for key in requested}
    pairs = {key: (_plain(stored.get(key)), _plain(requested[key])) for key in names}
    return [
        f"{name}: {text(pairs[key][0], unit)} in file, {text(pairs[key][1], unit)} requested"
        for key, (name, unit) in names.items()
        if pairs[key][0] != pairs[key][1]
    ]


def check_resume(
    stored: Mapping[str, Any],
    requested: Mapping[str, Any],
    what: str,
    remedy: str,
    names: Mapping[str, tuple[str, str]] | None = None,
    also: Iterable[str | None] = (),
) -> None:
    """Refuse to go on with a run whose stored settings differ from the requested ones: one line,
    '{what} with other settings (each difference, see `_setting_differences`, then `also`); {remedy}'."""
    differences = _setting_differences(stored, requested, names) + [d for d in also if d]
    if differences:
        raise EDNNError(f"{what} with other settings ({'; '.join(differences)}); {remedy}")


def structure_difference(stored: Atoms, requested: Atoms) -> str | None:
    """A message when `requested` is not `stored` (elements, cell, positions modulo the cell), else None."""
    same = np.array_equal(stored.numbers, requested.numbers) and np.allclose(
        stored.cell.array, requested.cell.array, rtol=0, atol=1e-9
    )
    if same:
        shift = stored.cell.scaled_positions(stored.positions) - stored.cell.scaled_positions(requested.positions)
        same = np.allclose(shift - np.round(shift), 0, rtol=0, atol=1e-9)
    return (
        None
        if same
        else (
            f"starting structure: {stored.get_chemical_formula()} in file, "
            f"a different {requested.get_chemical_formula()} requested"
        )
    )
