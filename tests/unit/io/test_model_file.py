import re

import h5py
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import ednn
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = EDNN(build_net("dense", tile=5, hidden=[8, 8]), 1, 2, scale=2.5, offset_per_site=-1.25,
             info={"note": "test"})
    return m.eval()


def test_round_trip_keeps_predictions_and_metadata(model, tmp_path):
    path = ednn.save_model(model, tmp_path / "m.safetensors")
    loaded = ednn.load(path)
    x = np.random.default_rng(0).choice([-1, 1], size=(3, 8, 8))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert (loaded.focus, loaded.context, loaded.info) == (1, 2, {"note": "test"})
    assert not (tmp_path / "m.safetensors.tmp").exists()


def test_missing_file(tmp_path):
    with pytest.raises(EDNNError, match="does not exist"):
        ednn.load(tmp_path / "nothing.safetensors")


def test_a_directory_is_named_as_one(tmp_path):
    with pytest.raises(EDNNError, match="is a directory, not a model file"):
        ednn.load(tmp_path)


@pytest.mark.parametrize("name", ["m.safetensors", "m.bin"])
def test_truncated_file(model, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(ednn.save_model(model, tmp_path / "whole.safetensors").read_bytes()[:200])
    with pytest.raises(EDNNError, match="not a readable model file"):
        ednn.load(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(EDNNError, match="not a readable model file"):
        ednn.load(path)


@pytest.mark.parametrize("name", ["grid.h5", "grid.npz", "grid.safetensors"])
def test_data_files_are_named_as_data_not_as_damaged_models(tmp_path, name):
    path = tmp_path / name
    if name == "grid.npz":
        np.savez(path, x=np.ones((2, 4, 4)))
        kind = "an .npz (zip) data file"
    else:
        with h5py.File(path, "w") as handle:
            handle["x"] = np.ones((2, 4, 4))
        kind = "an HDF5 data file"
    with pytest.raises(EDNNError, match=re.escape(f"{path} is {kind}, not a model (usage: ednn predict MODEL DATA)")):
        ednn.load(path)


def test_other_files_are_not_models(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("a long enough line of notes\n")
    with pytest.raises(EDNNError, match="notes.txt is not a model file"):
        ednn.load(path)


def test_a_training_checkpoint_is_not_a_model(tmp_path):
    path = tmp_path / "epoch0004.ckpt"
    torch.save({"state_dict": {}}, path)  # a zip, like Lightning's checkpoints
    with pytest.raises(EDNNError, match="epoch0004.ckpt is a training checkpoint, not a model: .*--resume"):
        ednn.load(path)


def test_foreign_safetensors_file(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(EDNNError, match="not an ednn model"):
        ednn.load(path)


def test_unregistered_network_cannot_be_saved(tmp_path):
    model = EDNN(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(9, 1)), 1, 1)
    with pytest.raises(EDNNError, match="register"):
        ednn.save_model(model, tmp_path / "m.safetensors")
