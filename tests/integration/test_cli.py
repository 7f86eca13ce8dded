import json
import re
import subprocess
import sys
from pathlib import Path

import ase.io
import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

import ednn
from ednn.cli.main import main
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net
from ednn.io.giant import FORMAT as GIANT_FORMAT
from ednn.io.structures import write_structures
from ednn.systems.sheets import random_sheet

MODELS = Path(__file__).parents[2] / "models"
ATOM_MODEL = MODELS / "ablations" / "hexsheets-gfn1xtb-dense.safetensors"  # trained on gfn1-xtb energies


def test_the_installed_command_runs():
    result = subprocess.run([sys.executable, "-m", "ednn", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "version" in result.stdout


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.safetensors"
    ednn.save_model(EDNN(build_net("dense", tile=4, hidden=[8]), 2, 1), path)
    return path


@pytest.mark.parametrize("command", [[], ["ising", "generate"], ["train"], ["evaluate"], ["predict"], ["quickstart"]])
def test_every_command_explains_itself(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 200


def test_train_help_lists_each_tile_net_with_the_defaults_of_its_constructor():
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "lean_cnn A CPU-lean convolutional tile network: early striding, few channels. "
        "Options: widths=[16,32,32,32], strided=3, hidden=64." in text
    )
    assert (
        "local_density A translation-equivariant" in text and "Options: widths=[32,64], hidden=128, gain=0.0625" in text
    )
    assert "paper_cnn" in text and "Options: none." in text
    assert "grids -f 1, -c 1, --batch-size 2000, --net dense" in text
    assert "atoms -f 16, -c 8, --batch-size 32, --net dense with hidden=[256,64], activation=silu unless given" in text


def test_net_options_are_read_as_json_and_reach_the_tile_net(ednn_cli, tmp_path):
    np.savez(tmp_path / "d.npz", x=np.random.default_rng(0).choice([-1, 1], size=(40, 4, 4)), energy=np.zeros(40))
    trained = ednn_cli(
        "train",
        tmp_path / "d.npz",
        "-o",
        tmp_path / "m.safetensors",
        "--run-dir",
        tmp_path / "run",
        "--epochs",
        1,
        "--net-option",
        "hidden=[8]",
        "--net-option",
        "activation=silu",
        "--net-option",
        "hidden=6,5",
    )  # a later key wins; a list may be written without brackets
    assert trained.returncode == 0, trained.stderr
    config = ednn.load(tmp_path / "m.safetensors").net.config
    assert config["hidden"] == [6, 5] and config["activation"] == "silu"


def test_info_shows_the_configuration_and_the_parameter_count(model_file):
    result = CliRunner().invoke(main, ["info", str(model_file)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["net"]["name"] == "dense" and shown["focus"] == 2 and shown["context"] == 1
    assert shown["net"]["parameters"] == (16 * 8 + 8) + (8 + 1)  # dense 4×4 tile → 8 → 1
    assert re.fullmatch("[0-9a-f]{64}", shown["weights_sha256"]) and shown["training_fingerprints"] is None


def test_info_shows_the_committed_sheet_models_fingerprint_counts():
    result = CliRunner().invoke(main, ["info", str(MODELS / "hexsheets-gfn1xtb.safetensors")])
    assert json.loads(result.output)["training_fingerprints"] == {"kind": "structures-v1", "train": 7559, "val": 697}


def structure_file(path, method):
    """A labelled structure file of one 60-site sheet, its energies made with `method`."""
    sheet = random_sheet((5, 3), 0, 0)[0]
    return write_structures(path, [sheet], {"energy_method": method}, energies=[-7.0 * len(sheet)])


def test_predict_prints_and_writes_csv(ednn_cli, model_file, tmp_path):
    x = np.random.default_rng(0).choice([-1, 1], size=(3, 8, 8)).astype(np.int8)
    np.savez(tmp_path / "x.npz", x=x)
    printed = ednn_cli("predict", model_file, tmp_path / "x.npz")
    assert printed.returncode == 0, printed.stderr
    expected = ednn.load(model_file).predict(x)
    np.testing.assert_allclose([float(v) for v in printed.stdout.split()], expected, rtol=1e-9)
    csv_file = tmp_path / "new" / "folder" / "y.csv"  # missing folders are made
    written = ednn_cli("predict", model_file, tmp_path / "x.npz", "--csv", csv_file)
    assert written.returncode == 0, written.stderr
    assert b"\r" not in csv_file.read_bytes() and not list(csv_file.parent.glob("*.tmp"))
    rows = csv_file.read_text().splitlines()
    assert rows[0] == "index,energy" and len(rows) == 4
    assert float(rows[1].split(",")[1]) == expected[0]


def test_generate_train_evaluate_end_to_end(ednn_cli, tmp_path):
    data = tmp_path / "d.h5"
    assert ednn_cli("ising", "generate", data, "-L", 4, "-n", 400, "--chunk-size", 200).returncode == 0
    trained = ednn_cli(
        "train",
        data,
        "-o",
        tmp_path / "m.safetensors",
        "--epochs",
        2,
        "--batch-size",
        100,
        "--net-option",
        "hidden=[8]",
        "--run-dir",
        tmp_path / "run",
    )
    assert trained.returncode == 0, trained.stderr
    assert "test split: 40 examples" in trained.stdout
    assert (tmp_path / "run/checkpoints/last.ckpt").is_file() and (
        tmp_path / "run/logs/version_0/metrics.csv"
    ).is_file()
    evaluated = ednn_cli(
        "evaluate",
        tmp_path / "m.safetensors",
        data,
        "--split",
        "test",
        "--json",
        tmp_path / "new/e.json",
        "--plot",
        tmp_path / "p.png",
    )
    assert evaluated.returncode == 0, evaluated.stderr
    assert (tmp_path / "p.png").stat().st_size > 10_000 and (tmp_path / "new/e.json").is_file()
    # 4×4 configurations repeat at low temperature: some test ones were also trained on, and are named so
    assert re.fullmatch(
        r"note: of the 40 examples evaluated, this model was trained on \d+ and validated on \d+ "
        r"\(matched by content\); errors on those are not held-out\n",
        evaluated.stderr,
    )
    whole = ednn_cli("evaluate", tmp_path / "m.safetensors", data)
    assert whole.returncode == 0 and "400 examples" in whole.stdout, whole.stderr
    trained_on = re.fullmatch(
        r"note: of the 400 examples evaluated, this model was trained on (\d+) and validated on (\d+) "
        r"\(matched by content\); `--split test` gives the held-out ones\n",
        whole.stderr,
    )
    assert trained_on and int(trained_on[1]) >= 320 and int(trained_on[2]) >= 40, whole.stderr
    again = ednn_cli("train", data, "-o", tmp_path / "m.safetensors", "--epochs", 2, "--run-dir", tmp_path / "run")
    assert again.returncode == 2 and "--resume" in again.stderr


def bad_inputs(tmp_path, model_file):
    np.savez(tmp_path / "odd.npz", x=np.ones((2, 7, 8)))
    np.savez(tmp_path / "nan.npz", x=np.full((2, 8, 8), np.nan))
    np.savez(tmp_path / "channels.npz", x=np.ones((2, 8, 8, 3)))
    np.savez(tmp_path / "nox.npz", y=np.ones(3))
    np.savez(tmp_path / "d.npz", x=np.ones((20, 8, 8)), energy=np.zeros(20))
    with h5py.File(tmp_path / "nox.h5", "w") as handle:
        handle["energy"] = np.ones(3)
    (tmp_path / "corrupt.h5").write_bytes(b"not hdf5 at all")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    (tmp_path / "notes.txt").write_text("not a model\n")
    structures = structure_file(tmp_path / "sheets.h5", "gfn1-xtb")
    tersoff = structure_file(tmp_path / "tersoff.h5", "tersoff-bcn")
    ase.io.write(tmp_path / "sheets.extxyz", random_sheet((5, 3), 0, 0)[0])
    with h5py.File(tmp_path / "giant.h5", "w") as handle:
        handle.attrs["format"] = GIANT_FORMAT
    torch.manual_seed(0)
    ednn.save_model(
        EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, targets=["magnetisation"]), tmp_path / "mag.safetensors"
    )
    return [
        (
            ["evaluate", ATOM_MODEL, tmp_path / "giant.h5"],
            "carry no reference energies to evaluate against; use `ednn predict",
        ),
        (["ising", "transition", tmp_path / "mag.safetensors"], "needs a model of the energy; this one was trained"),
        (
            ["predict", model_file, tmp_path / "d.npz", "--csv", tmp_path / "notes.txt" / "y.csv"],
            "cannot make the folder",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "notes.txt" / "o.safetensors", "--run-dir", tmp_path / "r0"],
            "cannot make the folder",
        ),
        (["predict", tmp_path / "d.npz", tmp_path / "d.npz"], "is an .npz (zip) data file, not a model"),
        (["predict", tmp_path / "nox.h5", tmp_path / "d.npz"], "is an HDF5 data file, not a model"),
        (["predict", tmp_path / "notes.txt", tmp_path / "d.npz"], "is not a model file"),
        (["predict", model_file, structures], "is a structure file; "),
        (["evaluate", model_file, tmp_path / "sheets.extxyz"], "is a grid model (trained on grids) — use an atom"),
        (["predict", ATOM_MODEL, tmp_path / "d.npz"], "is a grid file; "),
        (["evaluate", ATOM_MODEL, tmp_path / "d.npz"], "is an atom model (trained on atomic structures)"),
        (["evaluate", ATOM_MODEL, tersoff], "holds tersoff-bcn energies but"),
        (
            ["train", tmp_path / "sheets.extxyz", "-o", tmp_path / "o.safetensors"],
            f"`ednn import {tmp_path / 'sheets.extxyz'} OUT.h5`",
        ),
        (["train", structures, "-o", tmp_path / "o.safetensors", "--limit", 5], "--limit does not apply"),
        (
            ["train", structures, "-o", tmp_path / "o.safetensors", "--limit", 5, "--ndim", 2],
            "--limit, --ndim do not apply",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "o.safetensors", "--augment"],
            "--augment applies only to atomic",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "o.safetensors", "--augment", "--gamma", 0.3],
            "--gamma, --augment apply only to atomic",
        ),
        (["predict", model_file, tmp_path / "odd.npz"], "not a whole number of focus regions"),
        (["predict", model_file, tmp_path / "nan.npz"], "NaN"),
        (["predict", model_file, tmp_path / "channels.npz"], "2-D model with 1 channel expects"),
        (["predict", model_file, tmp_path / "nox.npz"], "no dataset 'x'"),
        (["predict", model_file, tmp_path / "d.npz", "--placements", 2], "--placements applies"),
        (["evaluate", model_file, tmp_path / "d.npz", "--placements", 2], "--placements applies"),
        (["predict", model_file, tmp_path / "nox.h5"], "no dataset 'x'"),
        (["predict", model_file, tmp_path / "corrupt.h5"], "not a readable HDF5 file"),
        (["predict", model_file, tmp_path / "missing.h5"], "does not exist"),
        (["predict", tmp_path / "corrupt.safetensors", tmp_path / "odd.npz"], "not a readable model file"),
        (["predict", tmp_path / "missing.safetensors", tmp_path / "odd.npz"], "does not exist"),
        (["train", tmp_path / "nox.h5", "-o", tmp_path / "o.safetensors"], "no dataset 'x'"),
        (["train", tmp_path / "odd.npz", "-o", tmp_path / "o.safetensors", "-f", 2], "has no dataset 'energy'"),
        (["ising", "generate", tmp_path / "g.h5", "-L", 5, "--n", 10], "even"),
        (["ising", "generate", tmp_path / "g.txt", "-L", 4, "--n", 10], "must end in .h5"),
        (["train", tmp_path / "nox.h5", "-o", tmp_path / "o.txt"], "must end in .safetensors"),
        (
            [
                "train",
                tmp_path / "d.npz",
                "-o",
                tmp_path / "o.safetensors",
                "--val-fraction",
                0.6,
                "--test-fraction",
                0.5,
                "--run-dir",
                tmp_path / "r1",
            ],
            "sum to less than 1",
        ),
        (
            [
                "train",
                tmp_path / "d.npz",
                "-o",
                tmp_path / "o.safetensors",
                "--net",
                "paper_cnn",
                "--run-dir",
                tmp_path / "r2",
            ],
            "divisible by 8",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "o.safetensors", "--net-option", "width=[8]"],
            "dense has no option 'width'; its options: hidden=null, activation=relu",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "o.safetensors", "--net-option", "hidden=abc"],
            "dense's hidden takes a list or null",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "o.safetensors", "--net-option", "hidden"],
            "expected KEY=VALUE",
        ),
        (
            ["train", tmp_path / "d.npz", "-o", tmp_path / "o.safetensors", "--net", "dens"],
            "unknown tile network 'dens'; known: dense, ",
        ),
    ]


def test_bad_input_gives_one_clear_line_and_writes_nothing(ednn_cli, tmp_path, model_file):
    for args, message in bad_inputs(tmp_path, model_file):
        before = set(tmp_path.rglob("*"))
        result = ednn_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert set(tmp_path.rglob("*")) == before, args


def test_evaluate_takes_energies_of_the_model_s_method_or_an_unnamed_one(ednn_cli, tmp_path):
    for method in ("gfn1-xtb", "imported"):
        result = ednn_cli("evaluate", ATOM_MODEL, structure_file(tmp_path / f"{method}.h5", method))
        assert result.returncode == 0 and "1 structures" in result.stdout, result.stderr


def test_transition_says_what_it_runs_before_it_starts(ednn_cli, monkeypatch):
    def stop(*args, **kwargs):
        raise EDNNError("stopped")

    monkeypatch.setattr("ednn.systems.ising.transition.run_transition", stop)
    result = ednn_cli("ising", "transition", MODELS / "ising-8x8-f1c1.safetensors", "--sizes", "8,4")
    assert result.stderr.splitlines()[0].startswith("sampling L = 4, 8: 4 stages with the model's energy")
    assert " here, from " in result.stderr.splitlines()[0]
    assert result.stderr.splitlines()[0].endswith(" s of timed sweeps)")
    assert result.stderr.splitlines()[1] == "error: stopped"
    # the estimate is the warm-up's (tests/unit/systems/ising), told in a unit that reads well
    for seconds, said in ((40.4, "about 40 s"), (900, "about 15 minutes"), (9000, "about 2.5 hours")):
        monkeypatch.setattr("ednn.systems.ising.transition.estimate_seconds", lambda *a, s=seconds, **k: s)
        defaults = ednn_cli("ising", "transition", MODELS / "ising-8x8-f1c1.safetensors")
        assert f"({said} here, from " in defaults.stderr.splitlines()[0]


def test_transition_explains_nan_and_writes_it_as_null(ednn_cli, monkeypatch, tmp_path):
    def nan_result(*args, **kwargs):
        run = {
            "crossings": [{"sizes": [4, 6], "tc": float("nan"), "error": float("nan"), "groups": 16}],
            "tc": float("nan"),
            "tc_error": float("nan"),
            "rate": 1e6,
            "proposals": 1e6,
            "seconds": 1.0,
        }
        return {"onsager_tc": 2.2692, "fine_temperatures": [2.24, 2.3], "energies": {"EDNN": run, "exact": run}}

    monkeypatch.setattr("ednn.systems.ising.transition.run_transition", nan_result)
    result = ednn_cli(
        "ising", "transition", MODELS / "ising-8x8-f1c1.safetensors", "--sizes", "4,6", "--json", tmp_path / "t.json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("4/6: no rising Binder crossing inside the crossing temperatures 2.24..2.3") == 2
    written = json.loads((tmp_path / "t.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert written["energies"]["EDNN"]["crossings"][0]["tc"] is None and written["onsager_tc"] == 2.2692


def test_evaluate_plots_label_the_model_s_target(ednn_cli, tmp_path, monkeypatch):
    torch.manual_seed(0)
    ednn.save_model(
        EDNN(
            build_net("dense", tile=4, hidden=[8]),
            2,
            1,
            targets=["magnetisation"],
            info={"data": {"target": "magnetisation"}},
        ),
        tmp_path / "mag.safetensors",
    )
    np.savez(tmp_path / "m.npz", x=np.ones((3, 8, 8)), magnetisation=np.full(3, 64.0))
    plotted = {}
    monkeypatch.setattr("ednn.analysis.plots.parity_plot", lambda *args, **kwargs: plotted.update(kwargs))
    result = ednn_cli("evaluate", tmp_path / "mag.safetensors", tmp_path / "m.npz", "--plot", tmp_path / "p.png")
    assert result.returncode == 0, result.stderr
    assert plotted == {"quantity": "magnetisation", "unit": "", "site": "site"}


def test_resume_refuses_changed_settings_and_keeps_history(ednn_cli, tmp_path):
    data = tmp_path / "d.h5"
    assert ednn_cli("ising", "generate", data, "-L", 4, "--n", 200, "--chunk-size", 200).returncode == 0
    common = [
        "train",
        data,
        "-o",
        tmp_path / "m.safetensors",
        "--batch-size",
        50,
        "--net-option",
        "hidden=[4]",
        "--run-dir",
        tmp_path / "run",
    ]
    assert ednn_cli(*common, "--epochs", 2).returncode == 0
    changed = ednn_cli(*common, "--epochs", 2, "--seed", 5, "--resume")
    assert changed.returncode == 2 and "seed: 0 in file, 5 requested" in changed.stderr
    assert ednn_cli(*common, "--epochs", 2, "--resume").returncode == 0
    assert (tmp_path / "run/logs/version_0/metrics.csv").is_file()
    assert (tmp_path / "run/logs/version_1").is_dir()
    assert ednn.load(tmp_path / "m.safetensors").info["training"]["sessions"] == 2  # wall time of both


def test_nan_targets_are_refused_by_evaluate(ednn_cli, tmp_path, model_file):
    np.savez(tmp_path / "nan.npz", x=np.ones((2, 8, 8)), energy=np.array([1.0, np.nan]))
    result = ednn_cli("evaluate", model_file, tmp_path / "nan.npz")
    assert result.returncode == 2 and "NaN" in result.stderr


def test_predict_takes_a_device_and_refuses_one_that_is_not_there(ednn_cli, tmp_path):
    model = MODELS / "ising-8x8-f1c1.safetensors"
    spins = np.random.default_rng(0).choice([-1, 1], size=(2, 8, 8))
    np.savez(tmp_path / "x.npz", x=spins)
    cpu = ednn_cli("predict", model, tmp_path / "x.npz", "--device", "cpu")
    assert cpu.returncode == 0 and cpu.stdout == ednn_cli("predict", model, tmp_path / "x.npz").stdout
    wrong = ednn_cli("predict", model, tmp_path / "x.npz", "--device", "toaster")
    assert wrong.returncode != 0 and "onto device 'toaster'" in wrong.stderr and len(wrong.stderr.splitlines()) == 1


def test_outputs_never_replace_an_input_a_link_or_a_device(ednn_cli, tmp_path):
    model = MODELS / "ising-8x8-f1c1.safetensors"
    np.savez(tmp_path / "x.npz", x=np.random.default_rng(0).choice([-1, 1], size=(3, 8, 8)))
    data = tmp_path / "x.npz"
    before = data.read_bytes()
    refused = ednn_cli("predict", model, data, "--csv", data)
    assert refused.returncode != 0 and "is one of this command's inputs" in refused.stderr
    assert data.read_bytes() == before
    to_stdout = ednn_cli("predict", model, data, "--csv", "-")
    assert to_stdout.returncode == 0 and to_stdout.stdout.count("\n") == 4 and not (Path.cwd() / "-").exists()
    target = tmp_path / "target.csv"
    target.write_text("old")
    (tmp_path / "link.csv").symlink_to(target)
    assert ednn_cli("predict", model, data, "--csv", tmp_path / "link.csv").returncode == 0
    assert (tmp_path / "link.csv").is_symlink() and target.read_text() == to_stdout.stdout
    if Path("/dev/full").exists():
        full = ednn_cli("predict", model, data, "--csv", "/dev/full")
        assert full.returncode != 0 and "cannot write /dev/full" in full.stderr and "wrote" not in full.stdout
        assert Path("/dev/full").is_char_device()
