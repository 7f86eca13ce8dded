"""Read grid data sets: HDF5 or .npz files holding `x` and, for training, targets.

`x` has shape (N, *spatial) or (N, *spatial, C); a target dataset (default
`energy`) has shape (N,) or (N, outputs).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from ednn.core.errors import EDNNError


def _read_h5(path: Path, names: Sequence[str]) -> tuple[dict[str, np.ndarray], dict]:
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise EDNNError(f"{path} is not a readable HDF5 file (truncated or corrupt?)") from None
    with handle:
        if not bool(handle.attrs.get("complete", True)):
            raise EDNNError(
                f"{path} is incomplete (its generation was interrupted); "
                "run the same generation command again to resume it"
            )
        try:
            return {n: handle[n][()] for n in names if isinstance(handle.get(n), h5py.Dataset)}, dict(handle.attrs)
        except (OSError, RuntimeError) as exc:
            if "filter" in str(exc):  # a chunk whose checksum (or compression) fails
                raise EDNNError(
                    f"{path} is damaged: a chunk of its data fails its checksum or does not decompress "
                    "(the file changed after it was written; make it again)"
                ) from None
            raise EDNNError(f"{path} is not a readable HDF5 file (truncated or corrupt?)") from None


def _read_npz(path: Path, names: Sequence[str]) -> tuple[dict[str, np.ndarray], dict]:
    try:
        with np.load(path, allow_pickle=False) as handle:
            return {n: handle[n] for n in names if n in handle.files}, {}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # truncated, empty or not a zip
        raise EDNNError(f"{path} is not a readable .npz file: {exc}".splitlines()[0]) from None


def read_datasets(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()) -> tuple[dict, dict]:
    """Arrays {name: array} of equal length from an .h5/.hdf5 or .npz file, and its attributes.

    Every name in `required` must be there; names in `optional` are read if present.
    """
    path = Path(path)
    if not path.is_file():
        raise EDNNError(f"data file {path} does not exist")
    names = [*required, *optional]
    if path.suffix in (".h5", ".hdf5"):
        data, attrs = _read_h5(path, names)
    elif path.suffix == ".npz":
        data, attrs = _read_npz(path, names)
    else:
        raise EDNNError(f"{path}: unknown data format {path.suffix!r}; use .h5 or .npz holding 'x'")
    for name in required:
        if name not in data:
            raise EDNNError(f"{path} has no dataset {name!r}")
    for name, array in data.items():
        if array.ndim == 0:
            raise EDNNError(f"{path}: dataset {name!r} is a single value; it needs one entry per example")
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise EDNNError(f"{path}: dataset {name!r} holds {array.dtype} values, not numbers")
    lengths = {name: len(array) for name, array in data.items()}
    if len(set(lengths.values())) > 1:
        raise EDNNError(f"{path} has datasets of different lengths {lengths}")
    return data, attrs


def read_grids(
    path: str | Path, target: str | None = "energy", require_target: bool = False
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Return (x, targets or None, attributes); targets must be finite."""
    required = ["x", target] if require_target and target else ["x"]
    optional = [target] if target and not require_target else []
    data, attrs = read_datasets(path, required, optional)
    x, y = data["x"], data.get(target) if target else None
    if x.ndim < 2:
        raise EDNNError(
            f"{path}: 'x' has shape {x.shape}; grids need (N, *spatial) or (N, *spatial, C), one grid per example"
        )
    if y is not None and y.ndim > 2:
        raise EDNNError(f"{path}: {target!r} has shape {y.shape}; a target needs (N,) or (N, outputs)")
    if y is not None and not np.isfinite(np.asarray(y, dtype=np.float64)).all():
        raise EDNNError(f"{path}: {target!r} contains NaN or infinite values")
    return x, y, attrs
