"""Checkpoints survive a kill at any moment of saving: resume continues from the newest whole
epoch; a damaged checkpoint is one line, not a traceback; the bar counts epochs from 1."""

import os
import sys

import lightning as L
import numpy as np
import pytest
import torch

from ednn.core.errors import EDNNError
from ednn.systems.ising import ising_energy
from ednn.train.fit import GridSet, fit, fit_target_scaling
from ednn.train.workflow import build_model


class _Epochs(L.Callback):
    """The epochs a session trains (0-based)."""

    def __init__(self):
        self.seen = []

    def on_train_epoch_start(self, trainer, _):
        self.seen.append(trainer.current_epoch)


def _setup():
    rng = np.random.default_rng(0)
    x = np.where(rng.uniform(size=(60, 4, 4)) < 0.5, 1, -1).astype(np.int8)
    model = build_model(x, 1, 1, net_options={"hidden": [4]})
    data = GridSet.from_numpy(model, x, ising_energy(x))
    fit_target_scaling(model, data)
    return model, data


def _train(run_dir, epochs, resume=False, **options):
    model, data = _setup()
    seen = _Epochs()
    result = fit(model, data, data, run_dir, epochs=epochs, batch_size=30, resume=resume, callbacks=[seen], **options)
    return result, seen.seen


@pytest.fixture
def two_epochs(tmp_path):
    """A run folder after 2 epochs: epoch0001.ckpt, last.ckpt linked to it."""
    _train(tmp_path, 2, progress=False)
    folder = tmp_path / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == ["epoch0001.ckpt", "last.ckpt"]  # no temporary file left
    assert os.readlink(folder / "last.ckpt") == "epoch0001.ckpt"
    return tmp_path


def _resumes_at_epoch_2(run_dir, capsys):
    result, seen = _train(run_dir, 3, resume=True, progress=False)
    assert seen == [2] and result["epochs"] == 3
    assert os.readlink(run_dir / "checkpoints/last.ckpt") == "epoch0002.ckpt"
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning")]


def test_a_whole_run_resumes_where_it_stopped(two_epochs, capsys):
    assert _resumes_at_epoch_2(two_epochs, capsys) == []
    assert sorted(p.name for p in (two_epochs / "checkpoints").iterdir()) == ["epoch0002.ckpt", "last.ckpt"]


def test_at_every_step_of_saving_last_ckpt_is_a_whole_epoch(tmp_path, monkeypatch):
    """Each rename, link and removal while saving is a moment a kill could come: before and after
    each, once an epoch has finished, last.ckpt loads as a whole checkpoint."""
    last = tmp_path / "checkpoints/last.ckpt"
    steps = []

    def checked(operation):
        def run(*args, **kwargs):
            for moment in ("before", "after"):
                if moment == "after":
                    operation(*args, **kwargs)
                if steps or last.is_file():
                    steps.append((operation.__name__, moment))
                    assert last.is_file(), steps
                    assert torch.load(last, weights_only=True)["epoch"] >= 0

        return run

    for name in ("replace", "rename", "remove", "unlink", "symlink"):
        monkeypatch.setattr(os, name, checked(getattr(os, name)))
    _train(tmp_path, 3, progress=False)
    assert len(steps) > 6  # the saves of epochs 2 and 3 were watched


def test_killed_while_writing_an_epoch_resumes_from_the_one_before(two_epochs, capsys):
    folder = two_epochs / "checkpoints"
    (folder / "epoch0002.ckpt.tmp").write_bytes((folder / "epoch0001.ckpt").read_bytes()[:100])
    (folder / "last.ckpt.tmp").symlink_to("epoch0002.ckpt")
    assert _resumes_at_epoch_2(two_epochs, capsys) == []
    assert not list(folder.glob("*.tmp"))


@pytest.mark.parametrize("state", ["missing", "dangling"])
def test_a_missing_or_dangling_last_ckpt_resumes_from_the_newest_whole_epoch(two_epochs, capsys, state):
    """Lightning's own order (remove the old epoch, then relink last.ckpt) could leave either."""
    last = two_epochs / "checkpoints/last.ckpt"
    last.unlink()
    if state == "dangling":
        last.symlink_to("epoch0000.ckpt")
    with pytest.raises(EDNNError, match="already holds a run"):  # not silently started from scratch
        _train(two_epochs, 3, progress=False)
    (warning,) = _resumes_at_epoch_2(two_epochs, capsys)
    assert "resuming from epoch0001.ckpt" in warning
    assert ("named epoch0000.ckpt" if state == "dangling" else "was missing") in warning
    for epoch in (two_epochs / "checkpoints").glob("epoch*.ckpt"):
        epoch.unlink()  # last.ckpt now dangles, with nothing whole left
    with pytest.raises(EDNNError, match="nothing to resume: .*last.ckpt names epoch0002.ckpt, which does not exist"):
        _train(two_epochs, 4, resume=True, progress=False)


@pytest.mark.parametrize("damage", [b"", b"not a checkpoint", "half"])
def test_a_damaged_last_ckpt_is_one_line_naming_it(two_epochs, damage):
    last = two_epochs / "checkpoints/last.ckpt"
    whole = last.read_bytes()
    last.write_bytes(whole[: len(whole) // 2] if damage == "half" else damage)  # through the link
    with pytest.raises(EDNNError) as error:
        _train(two_epochs, 3, resume=True, progress=False)
    message = str(error.value)
    assert "\n" not in message
    assert "damaged checkpoint" in message and "last.ckpt → epoch0001.ckpt" in message
    assert f"delete {two_epochs / 'checkpoints'}" in message


def test_a_damaged_copy_falls_back_to_the_whole_epoch_with_a_warning(two_epochs, capsys):
    last = two_epochs / "checkpoints/last.ckpt"
    last.unlink()
    last.write_bytes(b"")  # a copy (where links are not allowed), emptied
    (warning,) = _resumes_at_epoch_2(two_epochs, capsys)
    assert "damaged checkpoint last.ckpt" in warning and "resuming from epoch0001.ckpt" in warning


def test_the_bar_counts_epochs_from_1_without_a_version_number(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # a terminal: the bar, not lines
    _train(tmp_path, 2, progress=True)
    bar = capsys.readouterr().out  # Lightning's bars write to standard output
    assert "epoch 1/2" in bar and "epoch 2/2" in bar, bar
    assert "Epoch" not in bar and "v_num" not in bar and "train_loss" in bar
