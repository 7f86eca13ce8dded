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
    m = EDNN(build_net("dense", tile=5, hidden=[8, 8]), 1, 2, scale=2.5, offset_per_site=-1.25, info={"note": "test"})
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


def test_files_from_before_the_target_object_load_with_the_same_numbers(model, tmp_path):
    """Files written before `Target` held scale and offsets stored them at the top level."""
    path = ednn.save_model(model, tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata, tensors = handle.metadata(), {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    old = {k.removeprefix("target."): v for k, v in tensors.items() if k != "target.offset_per_intensity"}
    save_file(old, str(tmp_path / "old.safetensors"), metadata=metadata)
    x = np.random.default_rng(1).choice([-1, 1], size=(2, 8, 8))
    loaded = ednn.load(tmp_path / "old.safetensors")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.identity() == model.identity()


def test_load_onto_a_device_and_refuse_one_that_is_not_there(model, tmp_path):
    path = ednn.save_model(model, tmp_path / "m.safetensors")
    assert ednn.load(path, device="cpu").device == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(EDNNError, match="cannot load .* onto device 'cuda'"):
            ednn.load(path, device="cuda")
    with pytest.raises(EDNNError, match="onto device 'toaster'"):
        ednn.load(path, device="toaster")


@pytest.mark.filterwarnings("ignore::ednn.io.model_file.UnverifiedModelWarning")
def test_metadata_without_focus_or_with_an_unknown_net_option_is_named_damaged(model, tmp_path):
    import json

    from ednn.io.model_file import model_config

    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    config = model_config(model)
    del config["focus"]
    save_file(tensors, str(tmp_path / "a.safetensors"), metadata={"ednn": json.dumps(config)})
    with pytest.raises(EDNNError, match="damaged ednn metadata .*focus"):
        ednn.load(tmp_path / "a.safetensors")
    config = model_config(model)
    config["net"]["config"]["depth"] = 3
    save_file(tensors, str(tmp_path / "b.safetensors"), metadata={"ednn": json.dumps(config)})
    with pytest.raises(EDNNError, match="b.safetensors has damaged ednn metadata .tile network .dense.*depth"):
        ednn.load(tmp_path / "b.safetensors")


def test_a_model_that_moved_on_the_shelf_is_named_with_its_new_path():
    with pytest.raises(EDNNError, match="moved: it is now models/hexsheets-gfn1xtb.safetensors"):
        ednn.load("models/hexsheets-gfn1xtb-qeq-extra.safetensors")


def _rewrite(path, tensors=None, metadata=None):
    """Write the model file at `path` again with some tensors or metadata replaced."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        old_metadata, old = handle.metadata(), {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    save_file({**old, **(tensors or {})}, str(path), metadata={**old_metadata, **(metadata or {})})
    return old


def test_damaged_weights_are_named_as_damaged_not_predicted(model, tmp_path):
    path = ednn.save_model(model, tmp_path / "m.safetensors")
    old = _rewrite(path)
    name = next(k for k in old if k.startswith("net."))
    flipped = old[name].clone()
    flipped.view(-1)[0] = -flipped.view(-1)[0] + 1.0
    _rewrite(path, tensors={name: flipped})
    with pytest.raises(EDNNError, match=r"m.safetensors is damaged: its weights do not match the SHA-256"):
        ednn.load(path)


def test_a_file_without_a_digest_loads_with_a_warning_and_gets_one_when_saved_again(model, tmp_path):
    from safetensors import safe_open

    from ednn.io.model_file import UnverifiedModelWarning

    path = ednn.save_model(model, tmp_path / "m.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        metadata, tensors = handle.metadata(), {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118
    del metadata["ednn_weights_sha256"]
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata=metadata)
    with pytest.warns(UnverifiedModelWarning, match="no digest of its weights"):
        old = ednn.load(tmp_path / "old.safetensors")
    x = np.random.default_rng(2).choice([-1, 1], size=(2, 8, 8))
    np.testing.assert_array_equal(old.predict(x), model.predict(x))
    ednn.save_model(old, tmp_path / "again.safetensors")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(ednn.load(tmp_path / "again.safetensors").predict(x), model.predict(x))


def test_training_fingerprints_round_trip_and_damaged_ones_are_named(model, tmp_path):
    model.training_fingerprints = {
        "kind": "grids-v1",
        "train": np.array([5, 1, 5], np.uint64),
        "val": np.array([], np.uint64),
    }
    path = ednn.save_model(model, tmp_path / "m.safetensors")
    loaded = ednn.load(path)
    np.testing.assert_array_equal(loaded.training_fingerprints["train"], [1, 5])
    assert loaded.training_fingerprints["kind"] == "grids-v1" and not len(loaded.training_fingerprints["val"])
    _rewrite(path, metadata={"ednn_training_fingerprints": '{"kind": "grids-v1", "train": "%%%"}'})
    with pytest.raises(EDNNError, match="m.safetensors has damaged ednn metadata .training fingerprints"):
        ednn.load(path)
