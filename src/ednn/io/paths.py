"""Paths: the folders above an output file, made before the work that fills it; a file's digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ednn.core.errors import EDNNError


def make_parent(path: str | Path) -> None:
    """Create the missing folders above the output file (or file-name prefix) `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocking = next((p for p in path.parents if p.is_file()), None)  # a file where a folder must go
        reason = f"{blocking} is a file" if blocking is not None else exc.strerror
        raise EDNNError(f"cannot make the folder {path.parent} for {path.name}: {reason}") from None


def file_digest(path: str | Path) -> str:
    """First 16 hex digits of the SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
