"""Label files: the reference energies of generated structures without the structures.

A structure that its generator regenerates exactly from (seed, index) need not be stored: a label
file (format ``ednn-labels-v1``) keeps, for N structures, ``index`` (N,) int64 (the generator's
index k), ``energy_ueV`` (N,) int64 (the energy in µeV, rounded; a failed label reads as NaN),
``label_seconds`` (N,) float16, ``failed`` (N,) bool and ``check`` (N,) uint32 (the low 32 bits
of the content fingerprint of the structure that was labelled, `ednn.io.fingerprints`), each with
a fletcher32 checksum, gzip-compressed: about 15 bytes a structure. Its attributes name the
generator and its settings (as the structure file they came from recorded them), the decimals
positions were rounded to, the energy method, and the reasons of failed labels (JSON, by index).
Regenerating checks every structure (`ednn.systems.sheets.restore_sheet_file`).
"""

from __future__ import annotations

import json
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
    columns = {
        "index": done.astype(np.int64),
        "energy_ueV": np.round(np.nan_to_num(data.energy[done]) * 1e6).astype(np.int64),
        "label_seconds": data.label_seconds[done].astype(np.float16),
        "failed": data.failed[done],
        "check": fingerprint_checks(data.structures(done)),
    }
    reasons = {int(k): str(data.failure_reason[k]) for k in done[data.failed[done]]}
    make_parent(out)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as handle:
        handle.attrs.update({key: data.attrs[key] for key in KEPT_ATTRS if key in data.attrs})
        handle.attrs.update(
            format=FORMAT,
            source=Path(source).name,
            decimals=stored_decimals(source) or -1,
            failure_reasons=json.dumps(reasons),
        )
        for name, values in columns.items():
            handle.create_dataset(
                name, data=values, fletcher32=True, compression="gzip", compression_opts=9, shuffle=True
            )
    return Path(out)


def fingerprint_checks(structures) -> np.ndarray:
    """(N,) uint32: the low 32 bits of the structures' content fingerprints, what label files keep."""
    return (fingerprints.structure_fingerprints(structures) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def read_labels(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    """(columns, attributes) of a label file: index, energy (eV, NaN where failed), label_seconds,
    failed, failure_reason, check; `decimals` in the attributes is None for full precision."""
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
    reasons = json.loads(attrs.pop("failure_reasons", "{}"))
    columns["failure_reason"] = np.array([reasons.get(str(k), "") for k in columns["index"]], dtype=object)
    columns["energy"] = np.where(columns["failed"], np.nan, columns.pop("energy_ueV") * 1e-6)
    columns["label_seconds"] = columns["label_seconds"].astype(np.float64)
    attrs["decimals"] = None if int(attrs.get("decimals", -1)) < 0 else int(attrs["decimals"])
    return columns, attrs
