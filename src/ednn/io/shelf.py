"""The model shelf: where the committed models moved when models/ became one recommended model per
task plus models/ablations/ (issue 21), and the error that tells a user with an old path."""

from __future__ import annotations

from pathlib import Path

from ednn.core.errors import EDNNError

# old file name in models/ -> its path relative to models/ since the shelf was curated
MOVED = {
    "hexsheets-gfn1xtb.safetensors": "ablations/hexsheets-gfn1xtb-dense.safetensors",
    "hexsheets-gfn1xtb-qeq-extra.safetensors": "hexsheets-gfn1xtb.safetensors",
    **{
        f"{name}.safetensors": f"ablations/{name}.safetensors"
        for name in (
            "hexsheets-gfn1xtb-qeq",
            "hexsheets-gfn1xtb-density",
            "hexsheets-gfn1xtb-density-wide",
            "hexsheets-gfn1xtb-mse",
            "hexsheets-gfn1xtb-fixed-placement",
            "hexsheets-gfn1xtb-lattice-grid",
            "hexsheets-gfn1xtb-whole-image",
            "hexsheets-gfn1xtb-whole-image-fixed-placement",
            "porous-graphene-rebo-dense",
            "ising-8x8-f1c2",
            "ising-8x8-f1c3",
            "ising-8x8-f1c1-lean",
        )
    },
}


def moved_model_error(path: str | Path) -> EDNNError | None:
    """The one-line error for a missing model file whose name is one that moved, naming its new
    path beside the old one; None if the file exists, or its name never moved or is reused."""
    path = Path(path)
    if path.exists() or path.name not in MOVED or path.name in MOVED.values():  # a name reused on the shelf
        return None
    new = path.parent / MOVED[path.name]
    return EDNNError(f"{path} moved: it is now {new} (see {new.parent / 'README.md'})")
