import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

import ednn
from ednn.cli import quickstart
from ednn.cli.main import main
from ednn.systems.ising import ising_energy, load_ising_dataset


@pytest.mark.slow
def test_quickstart_trains_predicts_and_reports(tmp_path):
    run_dir = tmp_path / "qs"
    result = CliRunner().invoke(main, ["quickstart", "--run-dir", str(run_dir), "--epochs", "25"])
    assert result.exit_code == 0, result.output
    assert "128×128 near Tc" in result.output and "per spin" in result.output
    for name in (
        "parity-8x8.png",
        "parity-128x128.png",
        "ising-8x8-f1c1.safetensors",
        "train/logs/version_0/metrics.csv",
    ):
        assert (run_dir / name).is_file(), name
    results = json.loads((run_dir / "results.json").read_text())
    # 25 epochs already beat an untrained model by far (which is off by ~1 J per spin)
    assert results["128×128 near Tc"]["median_abs_per_site"] < 0.01
    # the table is the saved model's errors on the saved 128×128 set, against the exact Ising energy
    model = ednn.load(run_dir / "ising-8x8-f1c1.safetensors")
    assert model.info["training"]["epochs"] == 25
    transfer = load_ising_dataset(run_dir / "ising-128x128-near-tc.h5")
    error = np.abs(model.predict(transfer["x"]) - ising_energy(transfer["x"]))
    reported = results["128×128 near Tc"]
    assert reported["n"] == len(error) == 24
    assert reported["median_abs_per_system"] == pytest.approx(np.median(error), rel=1e-6)
    assert reported["median_abs_per_site"] == pytest.approx(np.median(error) / 128**2, rel=1e-6)
    assert reported["mean_abs_per_system"] == pytest.approx(np.mean(error), rel=1e-6)
    assert results["8×8 test split"]["n"] == model.info["split"]["n_test"]
    again = CliRunner().invoke(main, ["quickstart", "--run-dir", str(run_dir), "--epochs", "25"])
    assert again.exit_code == 0 and "reusing" in again.output
    changed = CliRunner().invoke(main, ["quickstart", "--run-dir", str(run_dir), "--epochs", "30"])
    assert changed.exit_code != 0 and "was made with other settings (--epochs: 25 in file" in str(changed.exception)


@pytest.mark.parametrize("terminal", [False, True])
def test_quickstart_says_each_stage_off_a_terminal(tmp_path, monkeypatch, terminal):
    monkeypatch.setattr(quickstart, "TRAIN_SET", ("ising-8x8.h5", 8, 400, (1.0, 5.0)))
    monkeypatch.setattr(quickstart, "TRANSFER_SET", ("ising-16x16.h5", 16, 8, (2.1, 2.45)))
    lines = []
    quickstart.run_quickstart(tmp_path, epochs=20, seed=0, echo=lines.append, terminal=terminal)
    for stage in ("data", "train", "evaluate", "transfer", "plot"):
        said = [k for k, line in enumerate(lines) if line.startswith(f"[{stage}] ")]
        assert said and re.fullmatch(rf"\[{stage}\] done in \d+\.\d s", lines[said[-1]]), stage
        assert "done in" not in lines[said[0]], stage
    assert sum("[data] done in" in line for line in lines) == 2
    epochs = [line for line in lines if line.startswith("[train] epoch ")]
    if terminal:  # the progress bar says it
        assert not epochs
    else:  # every 2nd epoch (10 %), more only if epochs took over 10 s
        assert {f"[train] epoch {k}/20" for k in range(2, 21, 2)} <= {line.split(":")[0] for line in epochs}
        assert re.fullmatch(
            r"\[train\] epoch 20/20: validation loss \S+ \(MSE of scaled totals\), .* \d+ s", epochs[-1]
        )


def test_quickstart_command_prints_stage_lines_to_a_pipe(tmp_path, monkeypatch):
    monkeypatch.setattr(quickstart, "TRAIN_SET", ("ising-8x8.h5", 8, 400, (1.0, 5.0)))
    monkeypatch.setattr(quickstart, "TRANSFER_SET", ("ising-16x16.h5", 16, 8, (2.1, 2.45)))
    result = CliRunner().invoke(main, ["quickstart", "--run-dir", str(tmp_path), "--epochs", "10"])
    assert result.exit_code == 0, result.output
    assert "[train] epoch 10/10: validation loss" in result.output and "[transfer] done in" in result.output
