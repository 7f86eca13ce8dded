import json

import numpy as np
import pytest
from click.testing import CliRunner

from ednn.cli.sweep import sweep
from ednn.core.errors import EDNNError
from ednn.systems.ising.dataset import generate_ising_dataset
from ednn.train.sweep import PLOTS, best_pair, run_sweep, sweep_net_options, table_lines

TINY = dict(epochs=1, batch_size=100, net_options={"hidden": [8]})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """200 8×8 Ising configurations."""
    path = tmp_path_factory.mktemp("sweep") / "ising-8x8.h5"
    return generate_ising_dataset(path, size=8, n_configs=200, t_min=1, t_max=5, seed=0, chunk_size=100, progress=False)


def stamps(run_dir):
    """Modification times of every pair's result and model."""
    return {p.relative_to(run_dir): p.stat().st_mtime_ns for p in run_dir.glob("f*-c*/*") if p.is_file()}


def test_sweep_writes_its_record_and_pictures_and_reruns_only_unfinished_pairs(data, tmp_path):
    run_dir = tmp_path / "sweep"
    record = run_sweep(data, run_dir, [1, 2], [1], workers=2, **TINY)  # two spawned workers
    written = json.loads((run_dir / "sweep.json").read_text())
    assert [p["name"] for p in written["pairs"]] == ["f1-c1", "f2-c1"] and written["pairs_trained_now"] == 2
    pair = written["pairs"][0]
    assert pair["validation"]["n"] == 20 and pair["n_parameters"] == 9 * 8 + 8 + 8 + 1
    assert pair["us_per_site"] > 0 and pair["test"]["median_abs_per_site"] > 0
    assert record["best"]["name"] in ("f1-c1", "f2-c1")
    for picture in PLOTS.values():
        assert (run_dir / picture).read_bytes()[:4] == b"\x89PNG"
    before = stamps(run_dir)
    assert run_sweep(data, run_dir, [1, 2], [1], workers=2, **TINY)["pairs_trained_now"] == 0
    assert stamps(run_dir) == before
    # killed while the second pair trained: no result, no model, its checkpoint left
    for name in ("result.json", "model.safetensors"):
        (run_dir / "f2-c1" / name).unlink()
    assert run_sweep(data, run_dir, [1, 2], [1], workers=2, **TINY)["pairs_trained_now"] == 1
    after = stamps(run_dir)
    assert all(after[k] == v for k, v in before.items() if k.parts[0] == "f1-c1")
    assert all(after[k] > v for k, v in before.items() if k.parts[0] == "f2-c1")


@pytest.mark.parametrize(
    "focus, context, message",
    [
        ([3], [1], "pair f=3, c=1 does not fit ising-8x8.h5: spatial size 8 along axis 0 is not a whole number"),
        ([1], [9], "pair f=1, c=9 does not fit ising-8x8.h5: context 9 exceeds the system size 8"),
        ([], [1], "a sweep needs at least one focus value"),
        ([1, 1], [1], "focus 1 given more than once"),
    ],
)
def test_pairs_that_do_not_fit_are_refused_before_anything_runs(data, tmp_path, focus, context, message):
    with pytest.raises(EDNNError, match=message):
        run_sweep(data, tmp_path / "sweep", focus, context, **TINY)
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_with_other_settings_is_refused(data, tmp_path):
    run_sweep(data, tmp_path, [2], [1], **TINY)
    for change, difference in (({"epochs": 2}, "epochs: 1 in file, 2 requested"), ({"seed": 1}, "seed: 0")):
        with pytest.raises(EDNNError, match=f"holds a sweep with other settings \\({difference}"):
            run_sweep(data, tmp_path, [2], [1], **{**TINY, **change})
    with pytest.raises(EDNNError, match=r"focus: \[2\] in file, \[1, 2\] requested"):
        run_sweep(data, tmp_path, [1, 2], [1], **TINY)


def test_capacity_rules():
    assert sweep_net_options("dense", {}, "fixed") == {"hidden": [64, 64]}
    assert sweep_net_options("dense", {"hidden": [8]}, "fixed") == {"hidden": [8]}
    assert sweep_net_options("dense", {"activation": "silu"}, "paper") == {"activation": "silu"}
    with pytest.raises(EDNNError, match="leave out hidden"):
        sweep_net_options("dense", {"hidden": [8]}, "paper")
    with pytest.raises(EDNNError, match="no such rule"):
        sweep_net_options("lean_cnn", {}, "paper")


def test_the_cheaper_pair_wins_within_noise():
    def pair(name, error, se, cost):
        return dict(name=name, focus=1, context=int(name[-1]), validation=dict(median_abs_per_system=error,
                    median_abs_per_system_se=se), us_per_site=cost)  # fmt: skip

    tied = [pair("f1-c1", 1.0, 0.1, 2.0), pair("f1-c2", 1.1, 0.1, 1.0), pair("f1-c3", 5.0, 0.1, 0.5)]
    assert best_pair(tied) == dict(name="f1-c2", focus=1, context=2, lowest="f1-c1", tied=["f1-c1", "f1-c2"])
    assert best_pair([pair("f1-c1", 1.0, 0.01, 2.0), pair("f1-c2", 1.1, 0.01, 1.0)])["name"] == "f1-c1"


def test_command_line(data, tmp_path):
    run_dir = tmp_path / "sweep"
    args = [str(data), "-f", "2", "-c", "1", "--run-dir", str(run_dir), "--epochs", "1", "--net-option", "hidden=8"]
    result = CliRunner().invoke(sweep, args)
    assert result.exit_code == 0, result.output
    assert "| 2 | 1 | 4 | 145 |" in result.output and "best: f=2, c=1 (lowest validation error)" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["-f", "", "-c", "1"], "give at least one value"),
        (["-f", "1,x", "-c", "1"], "expected comma-separated integers"),
        (["-f", "1", "-c", "1", "--workers", "0"], "0 is not in the range x>=1"),
        (["-f", "3", "-c", "1"], "pair f=3, c=1 does not fit"),
        (["-f", "1", "-c", "1", "--capacity", "paper", "--net-option", "hidden=8"], "leave out hidden"),
    ],
)
def test_bad_input_is_refused_in_one_line(data, tmp_path, args, message):
    result = CliRunner().invoke(sweep, [str(data), *args, "--run-dir", str(tmp_path / "sweep")])
    text = str(result.exception) if isinstance(result.exception, EDNNError) else result.output
    assert result.exit_code != 0 and message in text
    if isinstance(result.exception, EDNNError):
        assert "\n" not in text


@pytest.mark.parametrize("content", [b"not grids", None])
def test_a_data_file_that_is_not_a_grid_file_is_refused(tmp_path, content):
    path = tmp_path / "data.h5"
    if content is not None:
        path.write_bytes(content)
    else:
        np.savez(tmp_path / "data.npz", y=np.zeros(3))
        path = tmp_path / "data.npz"
    result = CliRunner().invoke(sweep, [str(path), "-f", "1", "-c", "1", "--run-dir", str(tmp_path / "sweep")])
    assert isinstance(result.exception, EDNNError) and "\n" not in str(result.exception)
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_without_a_test_split_reports_no_test_errors(data, tmp_path):
    record = run_sweep(data, tmp_path, [2], [1], test_fraction=0, **TINY)
    assert record["pairs"][0]["test"]["median_abs_per_system"] is None
    assert "| — | — |" in table_lines(record)[2]
