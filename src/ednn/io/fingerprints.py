"""Content fingerprints: 8-byte hashes of structures or grids that name an example by what it
holds, whatever file it comes in, so a model can say which examples it was trained on.

A structure's fingerprint hashes its atomic numbers, its positions rounded to 0.1 mÅ and its
cell (so a structure regenerated from the same seed, or stored with 4 decimals, matches); a
grid's hashes its values as float32 and its shape.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError

#: Kinds of fingerprints a model may record, by what its examples are.
KINDS = ("structures-v1", "grids-v1")
_QUANTUM = 1e-4  # Å: positions and cells are compared to this precision


def _hash8(*parts: bytes) -> int:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return int.from_bytes(digest.digest()[:8], "little")


def structure_fingerprints(structures: Sequence[Atoms]) -> np.ndarray:
    """(N,) uint64 fingerprints of structures."""

    def rounded(values: np.ndarray) -> bytes:
        return np.round(np.asarray(values, np.float64) / _QUANTUM).astype(np.int64).tobytes()

    return np.array(
        [
            _hash8(np.asarray(s.numbers, np.uint8).tobytes(), rounded(s.positions), rounded(s.cell.array))
            for s in structures
        ],
        dtype=np.uint64,
    ).reshape(len(structures))


def grid_fingerprints(x: np.ndarray) -> np.ndarray:
    """(N,) uint64 fingerprints of the N grids in x (N, *spatial[, C])."""
    x = np.asarray(x)
    shape = str(x.shape[1:]).encode()
    return np.array(
        [_hash8(shape, np.ascontiguousarray(example, np.float32).tobytes()) for example in x], dtype=np.uint64
    ).reshape(len(x))


def encode(fingerprints: np.ndarray) -> str:
    """The distinct fingerprints, sorted, as base64 text (8 bytes each) for a model file's metadata."""
    return base64.b64encode(np.unique(np.asarray(fingerprints, np.uint64)).astype("<u8").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    """Fingerprints (uint64) from `encode`'s text; damaged text is an EDNNError."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (ValueError, TypeError):
        raise EDNNError("damaged training fingerprints (not base64)") from None
    if len(raw) % 8:
        raise EDNNError("damaged training fingerprints (not whole 8-byte hashes)")
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64)


def overlap(found: np.ndarray, seen: np.ndarray) -> int:
    """How many of the fingerprints `found` (one per example) are among `seen`."""
    return int(np.isin(np.asarray(found, np.uint64), np.asarray(seen, np.uint64)).sum())
