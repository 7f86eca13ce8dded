import pytest

from ednn.io.atomic import atomic_path, write_text


def test_write_text_replaces_the_file_whole(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    assert write_text(path, "new ±") == path
    assert path.read_text(encoding="utf-8") == "new ±"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.h5"
    path.write_text("old")

    def killed_while_writing() -> None:
        with atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        killed_while_writing()
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.h5"]
