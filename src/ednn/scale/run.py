"""One entry point for the energy of a giant-structure file: in this process, or on Dask."""

from __future__ import annotations

from pathlib import Path

from ednn.atoms.blocks import DEFAULT_BLOCK_PIXELS, stream_energy
from ednn.atoms.model import AtomEDNN
from ednn.io.giant import GiantFile


def giant_energy(
    model: AtomEDNN,
    path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    block_pixels: int | None = None,
    progress: bool = True,
) -> float:
    """Total energy (eV) of the structure in a giant-structure file, block by block; on a Dask
    cluster when `workers` or `scheduler` is given, else in this process (no Dask needed)."""
    block_pixels = block_pixels or DEFAULT_BLOCK_PIXELS
    if workers is not None or scheduler is not None:
        from ednn.scale.distributed import dask_energy

        return dask_energy(
            model, path, workers=workers, scheduler=scheduler, block_pixels=block_pixels, progress=progress
        )
    with GiantFile(path) as giant:
        return stream_energy(model, giant.bins, block_pixels, progress=progress)
