"""Fixed train/validation/test splits, reproducible from a seed."""

from __future__ import annotations

import numpy as np

from ednn.core.errors import EDNNError


def split_indices(n: int, seed: int, val_fraction: float, test_fraction: float) -> dict[str, np.ndarray]:
    """Disjoint sorted index arrays 'train', 'val', 'test' covering range(n)."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise EDNNError("validation and test fractions must lie in [0, 1) and sum to less than 1")
    order = np.random.default_rng(seed).permutation(n)
    n_test, n_val = int(round(n * test_fraction)), int(round(n * val_fraction))
    parts = {"test": order[:n_test], "val": order[n_test : n_test + n_val], "train": order[n_test + n_val :]}
    if len(parts["train"]) == 0 or (val_fraction > 0 and len(parts["val"]) == 0):
        raise EDNNError(f"{n} examples are too few for this split")
    return {k: np.sort(v) for k, v in parts.items()}
