"""Training on Lightning's accelerators and devices: CPU processes here (DDP), GPUs where present."""

import os

import numpy as np
import pytest
import torch

from ednn.core.errors import EDNNError
from ednn.systems.ising import ising_energy
from ednn.train.fit import EpochShuffle, GridSet, fit, fit_target_scaling
from ednn.train.workflow import build_model


def small_run(tmp_path, **devices):
    """2 epochs on 4×4 spins with f = c = 1, 4 hidden units; the trained model and its run folder."""
    rng = np.random.default_rng(0)
    x = np.where(rng.uniform(size=(240, 4, 4)) < rng.uniform(size=(240, 1, 1)), 1, -1).astype(np.int8)
    torch.manual_seed(0)
    model = build_model(x, 1, 1, net_options={"hidden": [4]})
    train, val = (GridSet.from_numpy(model, x[part], ising_energy(x[part])) for part in (slice(200), slice(200, None)))
    fit_target_scaling(model, train)
    run = fit(model, train, val, tmp_path / "run", epochs=2, batch_size=50, progress=False, **devices)
    return model, run, tmp_path / "run"


def last_weights(run_dir):
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    return {k.removeprefix("model."): v for k, v in state.items()}


def test_one_cpu_device_is_the_default(tmp_path):
    default, _, _ = small_run(tmp_path / "a")
    explicit, _, _ = small_run(tmp_path / "b", accelerator="cpu", devices=1)
    assert all(torch.equal(v, explicit.state_dict()[k]) for k, v in default.state_dict().items())


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="two CPU processes need two cores")
def test_two_cpu_processes_train_data_parallel_and_hand_back_the_weights(tmp_path):
    model, run, run_dir = small_run(tmp_path, devices=2)
    assert run["epochs"] == 2
    assert all(p.device.type == "cpu" for p in model.parameters())
    trained = last_weights(run_dir)
    assert all(torch.equal(v, trained[k]) for k, v in model.state_dict().items())
    steps = np.loadtxt(run_dir / "logs" / "version_0" / "metrics.csv", delimiter=",", skiprows=1, usecols=1, dtype=int)
    assert steps.max() == 2 * 2 - 1  # 4 batches of 50 an epoch, 2 a process


def test_each_process_gets_its_share_of_the_batches(monkeypatch):
    shares = []
    for rank in (0, 1, 2):
        monkeypatch.setattr(torch.distributed, "get_rank", lambda rank=rank: rank)
        shares.append([b.tolist() for b in EpochShuffle(10, 2, seed=0, shuffle=False, processes=3)])
    assert shares == [[[0, 1], [6, 7]], [[2, 3], [8, 9]], [[4, 5], [0, 1]]]


@pytest.mark.parametrize(
    "devices, message",
    [({"accelerator": "abacus"}, "cannot train with accelerator 'abacus'"), ({"devices": 10_000}, "this machine has")],
)
def test_impossible_devices_are_one_line_errors(tmp_path, devices, message):
    with pytest.raises(EDNNError, match=message) as error:
        small_run(tmp_path, **devices)
    assert "\n" not in str(error.value)
