"""A model path from before the shelf was curated gets an error that names the new path."""

from pathlib import Path

import pytest

from ednn.core.errors import EDNNError
from ednn.io.shelf import MOVED, moved_model_error

MODELS = Path(__file__).parents[3] / "models"


def test_every_moved_model_is_at_its_new_path_and_no_old_one_is_left_behind():
    for old, new in MOVED.items():
        assert (MODELS / new).is_file(), new
        assert not (MODELS / old).exists() or old in MOVED.values(), old
    assert sorted(str(p.relative_to(MODELS)) for p in MODELS.rglob("*.safetensors")) == sorted(
        {*MOVED.values(), "ising-8x8-f1c1.safetensors", "porous-graphene-rebo.safetensors", "ising3d-f1c1.safetensors"}
    )


@pytest.mark.parametrize(
    "old, new, card",
    [
        ("models/hexsheets-gfn1xtb-qeq-extra.safetensors", "models/hexsheets-gfn1xtb.safetensors", "models/README.md"),
        (
            "models/ising-8x8-f1c2.safetensors",
            "models/ablations/ising-8x8-f1c2.safetensors",
            "models/ablations/README.md",
        ),
    ],
)
def test_an_old_path_names_the_new_one_and_its_card(tmp_path, old, new, card):
    error = moved_model_error(tmp_path / old)
    assert isinstance(error, EDNNError)
    assert str(error) == f"{tmp_path / old} moved: it is now {tmp_path / new} (see {tmp_path / card})"
    assert str(moved_model_error(old)) == f"{old} moved: it is now {new} (see {card})"


def test_existing_files_unmoved_names_and_reused_names_get_no_error(tmp_path):
    existing = tmp_path / "hexsheets-gfn1xtb-qeq.safetensors"
    existing.write_bytes(b"")
    assert moved_model_error(existing) is None
    assert moved_model_error(tmp_path / "mine.safetensors") is None
    assert moved_model_error(tmp_path / "porous-graphene-rebo.safetensors") is None
    # the old default's name now belongs to the most accurate sheet model: missing is just missing
    assert moved_model_error(tmp_path / "hexsheets-gfn1xtb.safetensors") is None
