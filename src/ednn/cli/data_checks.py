"""Refusals, in one line, of missing input files and of data a trained model cannot be evaluated on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ednn.core.errors import EDNNError

if TYPE_CHECKING:
    from ednn.core.model import EDNN


def require_file(path: Path, what: str) -> None:
    """Refuse an input `path` that is not a file, before anything slow is imported; `what` names it ('model file')."""
    if not path.is_file():
        raise EDNNError(f"{what} {path} {'is not a file' if path.exists() else 'does not exist'}")


def require_model_file(path: Path) -> None:
    """`require_file` for a model: a name that moved on the model shelf is named with its new path."""
    from ednn.io.shelf import moved_model_error

    moved = moved_model_error(path)
    if moved is not None:
        raise moved
    require_file(path, "model file")


def check_data_kind(loaded: EDNN, model: Path, data: Path) -> None:
    """Refuse atomic structures for a grid model and grids for an atom model."""
    from ednn.io.sniff import holds_grids, holds_structures

    if loaded.imaging is None and holds_structures(data):
        raise EDNNError(f"{data} is a structure file; {model} is a grid model (trained on grids) — use an atom model")
    if loaded.imaging is not None and holds_grids(data):
        raise EDNNError(
            f"{data} is a grid file; {model} is an atom model (trained on atomic structures) — use a grid model"
        )


def check_energy_method(loaded: EDNN, model: Path, data: Path) -> None:
    """Refuse reference energies of another method than the one MODEL was trained on, when
    both MODEL and the structure file DATA name their method ('imported' names none)."""
    from ednn.io.structures import StructureFile, is_structure_file

    trained = loaded.info.get("data", {}).get("energy_method")
    labelled = StructureFile(data).attrs.get("energy_method") if is_structure_file(data) else None
    trained, labelled = (None if m in (None, "imported", "unknown") else str(m) for m in (trained, labelled))
    if trained and labelled and labelled != trained:
        raise EDNNError(
            f"{data} holds {labelled} energies but {model} was trained on {trained} energies; "
            "errors against another method mean nothing (to compare anyway, `ednn import` the structures "
            "from an extxyz file: imported energies name no method)"
        )
