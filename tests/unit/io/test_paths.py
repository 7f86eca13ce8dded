"""make_parent: the folders above an output path, or a one-line error."""

import pytest

from ednn.core.errors import EDNNError
from ednn.io.paths import make_parent


def test_missing_folders_are_made_and_existing_ones_kept(tmp_path):
    target = tmp_path / "a" / "b" / "c" / "model.safetensors"
    make_parent(target)
    assert target.parent.is_dir() and not target.exists()  # the folders, not the file
    (target.parent / "kept.txt").write_text("here")
    make_parent(str(target))  # again, and as a string: nothing changes
    assert (target.parent / "kept.txt").read_text() == "here"
    make_parent(tmp_path / "prefix")  # a file-name prefix in an existing folder: nothing to make
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_a_file_in_the_way_is_a_one_line_error(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(EDNNError) as excinfo:
        make_parent(tmp_path / "a_file" / "deeper" / "out.h5")
    message = str(excinfo.value)
    assert message.startswith(f"cannot make the folder {tmp_path / 'a_file' / 'deeper'} for out.h5: ")
    assert "\n" not in message and (tmp_path / "a_file").read_text() == "not a folder"
