"""Label files: the reference energies of generated structures without the structures.

A structure that its generator regenerates exactly from (seed, index) need not be stored: a label
file (format ``ednn-labels-v1``) keeps, for N structures, ``index`` (N,) int64 (the generator's
index k), ``energy`` (N,) float64 eV (NaN where labelling failed), ``label_seconds`` (N,) float64,
``failed`` (N,) bool, ``failure_reason`` (N,) str and ``fingerprint`` (N,) uint64 (the content
fingerprint of the structure that was labelled, `ednn.io.fingerprints`), each numeric dataset with
a fletcher32 checksum; its attributes name the generator and its settings (as the structure file
they came from recorded them), the decimals positions were rounded to, and the energy method.
Regenerating checks every fingerprint (`ednn.systems.sheets.restore_sheet_file`).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from ednn.core.errors import EDNNError
from ednn.io import fingerprints
from ednn.io.atomic import atomic_path
from ednn.io.paths import make_parent
from ednn.io.structures import StructureFile

FORMAT = "ednn-labels-v1"
#: Attributes of a generated structure file that a label file carries over.
KEPT_ATTRS = ("generator", "reps", "seed", "lattice_a", "vacuum", "energy_method", "label_command", "command")


def stored_decimals(path: str | Path) -> int | None:
    """The decimals a structure file's positions were rounded to (HDF5 scale-offset), or None."""
    with h5py.File(path, "r", locking=False) as handle:
        return handle["positions"].scaleoffset


def write_labels(source: str | Path, out: str | Path) -> Path:
    """A label file of every labelled or failed structure of the generated structure file `source`."""
    data = StructureFile(source)
    if "generator" not in data.attrs or "seed" not in data.attrs:
        raise EDNNError(f"{source} records no generator and seed: its structures cannot be regenerated from labels")
    done = np.flatnonzero(data.labelled | data.failed)
    if not len(done):
        raise EDNNError(f"{source} holds no labels yet: label it first (ednn label {source})")
    found = fingerprints.structure_fingerprints(data.structures(done))
    columns = {
        "index": done.astype(np.int64),
        "energy": data.energy[done],
        "label_seconds": data.label_seconds[done],
        "failed": data.failed[done],
        "fingerprint": found,
    }
    make_parent(out)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs.update({key: data.attrs[key] for key in KEPT_ATTRS if key in data.attrs})
        handle.attrs.update(format=FORMAT, source=Path(source).name, decimals=stored_decimals(source) or -1)
        for name, values in columns.items():
            handle.create_dataset(name, data=values, fletcher32=True, compression="gzip", shuffle=True)
        handle.create_dataset(
            "failure_reason", data=data.failure_reason[done].astype(object), dtype=h5py.string_dtype()
        )
    return Path(out)


def read_labels(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """(columns, attributes) of a label file; `decimals` in the attributes is None for full precision."""
    path = Path(path)
    if not path.is_file():
        raise EDNNError(f"label file {path} does not exist")
    try:
        with h5py.File(path, "r", locking=False) as handle:
            if handle.attrs.get("format") != FORMAT:
                raise EDNNError(f"{path} is not an ednn label file (format {FORMAT!r} expected)")
            columns = {name: handle[name][()] for name in handle}
            attrs = dict(handle.attrs)
    except OSError as exc:
        message = str(exc).splitlines()[0]
        kind = "damaged (a checksum does not match)" if "filter" in message else "not a readable HDF5 file"
        raise EDNNError(f"{path} is {kind}: {message}") from None
    columns["failure_reason"] = np.array([r.decode() if isinstance(r, bytes) else r for r in columns["failure_reason"]])
    attrs["decimals"] = None if int(attrs.get("decimals", -1)) < 0 else int(attrs["decimals"])
    return columns, attrs
