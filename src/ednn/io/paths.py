"""Output paths: the folders above an output file, made before the work that fills it."""

from __future__ import annotations

from pathlib import Path

from ednn.core.errors import EDNNError


def make_parent(path: str | Path) -> None:
    """Create the missing folders above the output file (or file-name prefix) `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EDNNError(f"cannot make the folder {path.parent} for {path.name}: {exc.strerror}") from None
