"""`output_place`: an output's folder is made and proven writable before the work, and removed again when the
work is refused."""

from pathlib import Path

import pytest

from ednn.cli.data_checks import require_file
from ednn.cli.output import output_place
from ednn.core.errors import EDNNError


def _refused_work(out: Path, write: bool) -> None:
    """Work in `output_place(out)` that finds its folder, writes `out` if `write`, then is refused."""
    with output_place(out):
        assert out.parent.is_dir()
        if write:
            out.write_text("part of a run, kept for its resume")
        raise EDNNError("refused")


def test_the_folders_made_go_again_when_the_work_is_refused(tmp_path):
    with pytest.raises(EDNNError, match="refused"):
        _refused_work(tmp_path / "new" / "deeper" / "out.h5", write=False)
    assert list(tmp_path.iterdir()) == []


def test_folders_that_hold_what_the_work_wrote_stay(tmp_path):
    with pytest.raises(EDNNError, match="refused"):
        _refused_work(tmp_path / "new" / "out.h5", write=True)
    assert (tmp_path / "new" / "out.h5").is_file()


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("notes.txt/out.h5", "cannot make the folder notes.txt for out.h5: notes.txt is a file"),
        ("/proc/ednn-test/out.h5", "cannot make the folder /proc/ednn-test for out.h5"),
        ("/proc/out.h5", "cannot write /proc/out.h5"),
        ("folder", "cannot write folder: it is a folder"),
    ],
    ids=["under-a-file", "uncreatable-folder", "uncreatable-file", "a-folder"],
)
def test_an_unwritable_output_is_refused_before_the_work(tmp_path, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("a file\n")
    (tmp_path / "folder").mkdir()
    with pytest.raises(EDNNError, match=message), output_place(Path(out)):
        pytest.fail("the work ran")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "notes.txt"]


def test_an_existing_output_is_left_as_it_was(tmp_path):
    out = tmp_path / "run.h5"
    out.write_bytes(b"resumable")
    with output_place(out):
        pass
    assert out.read_bytes() == b"resumable"


def test_require_file_names_what_is_missing(tmp_path):
    with pytest.raises(EDNNError, match=r"^model file .*m.safetensors does not exist$"):
        require_file(tmp_path / "m.safetensors", "model file")
    with pytest.raises(EDNNError, match=r"^data file .* is not a file$"):
        require_file(tmp_path, "data file")
