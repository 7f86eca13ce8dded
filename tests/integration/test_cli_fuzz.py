"""Every subcommand answers bad inputs in one line: missing, empty, truncated, wrong-typed, wrong-shaped and
damaged files, and outputs that cannot be written. Non-zero exit, one line on stderr, no traceback, and the
folder it worked in is left exactly as it was (no new file, no changed input)."""

import shutil
import subprocess
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

import ase.io
import h5py
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from ednn.cli.main import run
from ednn.io.giant import write_giant
from ednn.io.structures import write_structures
from ednn.systems.sheets import honeycomb, random_sheet

MODELS = Path(__file__).parents[2] / "models"
GRID_MODEL = MODELS / "ising-8x8-f1c1.safetensors"
ATOM_MODEL = MODELS / "ablations" / "hexsheets-gfn1xtb-dense.safetensors"


def _damaged(data: bytes, start: int, stop: int) -> bytes:
    """`data` with every byte in [start, stop) inverted."""
    middle = bytes(b ^ 0xFF for b in data[start:stop])
    return data[:start] + middle + data[stop:]


def _safetensors_header_middle(data: bytes) -> tuple[int, int]:
    """The middle 32 bytes of a safetensors file's JSON header (its metadata, which is checked)."""
    length = int.from_bytes(data[:8], "little")
    return 8 + length // 2 - 16, 8 + length // 2 + 16


def _with_energy(atoms, energy: float):
    atoms = atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=energy)
    return atoms


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """A folder of tiny valid inputs and of bad ones made from them; each case works on a copy."""
    folder = tmp_path_factory.mktemp("inputs")
    x = np.random.default_rng(0).choice([-1, 1], size=(20, 8, 8)).astype(np.int8)
    energy = -(x * np.roll(x, 1, 1) + x * np.roll(x, 1, 2)).sum((1, 2)).astype(np.float64)
    with h5py.File(folder / "grids.h5", "w") as f:
        f["x"], f["energy"], f["T"] = x, energy, np.full(20, 2.0)
    np.savez(folder / "grids.npz", x=x, energy=energy)
    sheets = [random_sheet((5, 3), 0, k)[0] for k in range(2)]
    write_structures(folder / "sheets.h5", sheets, {"energy_method": "gfn1-xtb"}, energies=[-420.0, -421.0])
    write_structures(folder / "unlabelled.h5", sheets, {})
    many = [random_sheet((5, 3), 0, k)[0] for k in range(20)]  # enough to split: --extra-train is read
    write_structures(folder / "sheets20.h5", many, {"energy_method": "gfn1-xtb"}, energies=[-420.0] * 20)
    ase.io.write(folder / "sheets.extxyz", [_with_energy(s, -420.0) for s in sheets])
    ase.io.write(folder / "sheet.traj", honeycomb((5, 3))[0])
    write_giant(folder / "giant.h5", honeycomb((5, 3))[0])
    shutil.copy(GRID_MODEL, folder / "model.safetensors")
    for suffix in (".h5", ".npz", ".safetensors", ".extxyz", ".traj", ".json"):
        (folder / f"text{suffix}").write_text("this is not what the command expects\n")
        (folder / f"empty{suffix}").write_bytes(b"")
    for name in ("grids.h5", "grids.npz", "sheets.h5", "unlabelled.h5", "sheets.extxyz", "sheet.traj", "giant.h5"):
        data = (folder / name).read_bytes()
        (folder / f"truncated-{name}").write_bytes(data[: len(data) // 2])
    for name in ("grids.h5", "sheets.h5", "unlabelled.h5", "giant.h5", "sheet.traj"):
        data = (folder / name).read_bytes()
        (folder / f"damaged-{name}").write_bytes(_damaged(data, 64, len(data) // 2))  # past the signature
    data = (folder / "model.safetensors").read_bytes()
    (folder / "damaged-model.safetensors").write_bytes(_damaged(data, *_safetensors_header_middle(data)))
    (folder / "truncated-model.safetensors").write_bytes(data[: len(data) // 2])
    shapes = {
        "scalar-x.h5": {"x": np.float64(1.0), "energy": np.zeros(1)},
        "flat-x.h5": {"x": np.ones(20), "energy": energy},
        "short-energy.h5": {"x": x, "energy": energy[:5]},
        "energy-grid.h5": {"x": x, "energy": x.astype(np.float64)},
    }
    for name, datasets in shapes.items():
        with h5py.File(folder / name, "w") as f:
            for key, value in datasets.items():
                f[key] = value
    (folder / "notes.txt").write_text("a regular file: no folder can be made under it\n")
    return folder


MODEL_BAD = {
    "missing": "missing.safetensors",
    "empty": "empty.safetensors",
    "text": "text.safetensors",
    "truncated": "truncated-model.safetensors",
    "damaged": "damaged-model.safetensors",
    "npz": "grids.npz",
    "hdf5-data": "grids.h5",
    "structures": "sheets.h5",
}
X_BAD = {
    "missing": "missing.h5",
    "empty-h5": "empty.h5",
    "empty-npz": "empty.npz",
    "text-h5": "text.h5",
    "truncated-h5": "truncated-grids.h5",
    "truncated-npz": "truncated-grids.npz",
    "damaged-h5": "damaged-grids.h5",
    "model": "model.safetensors",
    "scalar-x": "scalar-x.h5",
    "flat-x": "flat-x.h5",
}
"""Bad grid files for a command that reads only x."""
GRIDS_BAD = {**X_BAD, "short-target": "short-energy.h5", "grid-target": "energy-grid.h5"}
"""Bad grid files for a command that reads x and the target."""
STRUCTURES_BAD = {
    "missing": "missing.h5",
    "empty-h5": "empty.h5",
    "empty-extxyz": "empty.extxyz",
    "text-h5": "text.h5",
    "text-extxyz": "text.extxyz",
    "truncated-h5": "truncated-sheets.h5",
    "truncated-extxyz": "truncated-sheets.extxyz",
    "damaged-h5": "damaged-sheets.h5",
    "grids": "grids.h5",
    "model": "model.safetensors",
}
UNWRITABLE = {"under-a-file": "notes.txt/{name}", "uncreatable": "/proc/ednn-fuzz/{name}"}
"""Output paths that cannot be written; {name} is the output's file name."""


def _outputs(name: str, *existing_bad: str) -> dict[str, str]:
    """Bad output paths for an output file `name`: unwritable ones, and existing bad files given as the output."""
    return {**{key: path.format(name=name) for key, path in UNWRITABLE.items()}, **{f"is-{b}": b for b in existing_bad}}


def _cases() -> list:
    """(id, arguments): `@name` is the input file of that name (a copy in the case's folder)."""
    cases = []

    def add(command: str, slot: str, bad: dict[str, str], template: list[str]) -> None:
        for kind, name in bad.items():
            cases.append((f"{command}-{slot}-{kind}", [f"@{name}" if a == "BAD" else a for a in template]))

    add(
        "ising-generate",
        "out",
        _outputs("g.h5", "text.h5", "truncated-grids.h5", "damaged-grids.h5"),
        ["ising", "generate", "BAD", "-L", "4", "-n", "4", "--chunk-size", "2"],
    )
    add("ising-transition", "model", MODEL_BAD, ["ising", "transition", "BAD", "--sizes", "4,8", "--effort", "0.01"])
    add(
        "ising-transition",
        "json",
        {k: v.format(name="t.json") for k, v in UNWRITABLE.items()},
        ["ising", "transition", "@model.safetensors", "--sizes", "4,8", "--effort", "0.01", "--json", "BAD"],
    )
    train = ["train", "BAD", "-o", "m.safetensors", "--epochs", "1", "--run-dir", "run"]
    add("train", "data", {**GRIDS_BAD, **{f"structures-{k}": v for k, v in STRUCTURES_BAD.items() if "h5" in k}}, train)
    add("train", "data", {"unlabelled": "unlabelled.h5"}, train)
    add("evaluate", "structures", {"unlabelled": "unlabelled.h5"}, ["evaluate", str(ATOM_MODEL), "BAD"])
    add("train", "out", _outputs("m.safetensors"), ["train", "@grids.h5", "-o", "BAD", "--epochs", "1"])
    add(
        "train",
        "extra-train",
        {k: STRUCTURES_BAD[k] for k in ("missing", "text-h5", "truncated-h5", "grids")},
        ["train", "@sheets20.h5", "-o", "m.safetensors", "--epochs", "1", "--run-dir", "run", "--extra-train", "BAD"],
    )
    add("train", "init", MODEL_BAD, ["train", "@grids.h5", "-o", "m.safetensors", "--init", "BAD", "--run-dir", "run"])
    for command in ("evaluate", "predict"):
        add(command, "model", MODEL_BAD, [command, "BAD", "@grids.h5"])
        add(command, "grids", GRIDS_BAD if command == "evaluate" else X_BAD, [command, "@model.safetensors", "BAD"])
        add(command, "structures", STRUCTURES_BAD, [command, str(ATOM_MODEL), "BAD"])
    add("predict", "csv", _outputs("p.csv"), ["predict", "@model.safetensors", "@grids.h5", "--csv", "BAD"])
    add("evaluate", "json", _outputs("e.json"), ["evaluate", "@model.safetensors", "@grids.h5", "--json", "BAD"])
    add("evaluate", "plot", _outputs("e.png"), ["evaluate", "@model.safetensors", "@grids.h5", "--plot", "BAD"])
    add("info", "model", MODEL_BAD, ["info", "BAD"])
    add("quickstart", "run-dir", _outputs("run"), ["quickstart", "--run-dir", "BAD", "--epochs", "1"])
    add("sheets-generate", "out", _outputs("s.h5", "text.h5"), ["sheets", "generate", "BAD", "-n", "2"])
    add(
        "porous-generate",
        "out",
        _outputs("p.h5", "text.h5", "truncated-sheets.h5", "damaged-sheets.h5", "grids.h5"),
        ["porous", "generate", "BAD", "-n", "1", "-f", "1", "-m", "1", "--equilibrate", "0"],
    )
    add(
        "porous-sheet",
        "out",
        _outputs("giant.h5", "text.h5"),
        ["porous", "sheet", "BAD", "--patches", "1x1", "--pool", "1"],
    )
    giant_bad = {
        **{k: v for k, v in STRUCTURES_BAD.items() if k != "grids"},
        "truncated-giant": "truncated-giant.h5",
        "damaged-giant": "damaged-giant.h5",
        "grids": "grids.h5",
    }
    add("porous-exact", "sheet", giant_bad, ["porous", "exact", "BAD"])
    md = ["md", "-c", str(ATOM_MODEL), "-o", "md.traj", "--steps", "2"]
    add("md", "structure", STRUCTURES_BAD, [md[0], "BAD", *md[1:]])
    add(
        "md",
        "calculator",
        {k: v for k, v in MODEL_BAD.items() if v.endswith(".safetensors")},
        ["md", "-c", "BAD", "-o", "md.traj", "--steps", "2"],
    )
    add(
        "md",
        "out",
        _outputs("md.traj", "text.traj", "empty.traj", "truncated-sheet.traj", "damaged-sheet.traj"),
        ["md", "-c", str(ATOM_MODEL), "-o", "BAD", "--steps", "2"],
    )
    mc = ["-o", "mc.h5", "--steps", "2", "--chains", "1", "--equilibration", "0"]
    add("mc", "model", MODEL_BAD, ["mc", "BAD", *mc])
    add("mc", "structure", STRUCTURES_BAD, ["mc", str(ATOM_MODEL), "BAD", *mc])
    add(
        "mc",
        "out",
        _outputs("mc.h5", "text.h5", "empty.h5", "truncated-sheets.h5", "damaged-sheets.h5", "grids.h5"),
        ["mc", str(ATOM_MODEL), "-o", "BAD", "--steps", "2", "--chains", "1"],
    )
    label_bad = {
        **STRUCTURES_BAD,
        "damaged-unlabelled": "damaged-unlabelled.h5",
        "truncated-unlabelled": "truncated-unlabelled.h5",
    }
    add("label", "structures", label_bad, ["label", "BAD", "-m", "tersoff-bcn"])
    add("import", "source", STRUCTURES_BAD, ["import", "BAD", "out.h5"])
    add("import", "out", _outputs("out.h5", "sheets.h5"), ["import", "@sheets.extxyz", "BAD"])
    add("export", "model", MODEL_BAD, ["export", "BAD", "-o", "m.onnx"])
    add(
        "export",
        "out",
        _outputs("m.onnx", "text.h5", "model.safetensors"),
        ["export", "@model.safetensors", "-o", "BAD"],
    )
    labels_bad = {k: v for k, v in STRUCTURES_BAD.items() if "extxyz" not in k}
    add(
        "sheets-labels",
        "structures",
        {**labels_bad, "unlabelled": "unlabelled.h5"},
        ["sheets", "labels", "BAD", "-o", "l.h5"],
    )
    add("sheets-labels", "out", _outputs("l.h5", "sheets.h5"), ["sheets", "labels", "@sheets.h5", "-o", "BAD"])
    add("sheets-restore", "labels", {**labels_bad, "structures": "sheets.h5"}, ["sheets", "restore", "BAD", "r.h5"])
    sweep = ["--focus", "1,2", "--context", "0,1", "--epochs", "1"]
    add("sweep", "data", GRIDS_BAD, ["sweep", "BAD", "--run-dir", "sweep", *sweep])
    add("sweep", "run-dir", _outputs("sweep"), ["sweep", "@grids.h5", "--run-dir", "BAD", *sweep])
    add(
        "sweep",
        "pairs",
        {"unfit": "grids.h5"},
        ["sweep", "BAD", "--run-dir", "sweep", "--focus", "3", "--context", "1"],
    )
    add("report", "root", {"missing": "missing", "a-file": "notes.txt"}, ["report", "--root", "BAD"])
    add("report", "root-check", {"missing": "missing"}, ["report", "--root", "BAD", "--check"])
    cases.append(("export-model-atoms", ["export", str(ATOM_MODEL), "-o", "m.onnx"]))  # rendering does not export
    return cases


def _params() -> list:
    return [pytest.param(args, id=case) for case, args in _cases()]


def _snapshot(folder: Path) -> dict[Path, bytes | None]:
    """Every path under `folder` with its content (None for a folder)."""
    return {p: (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def _ednn(args: list[str], capsys, monkeypatch) -> SimpleNamespace:
    """`ednn ARGS` in this process, through `run` (its one-line errors); an escaping exception is kept as text."""
    monkeypatch.setattr(sys, "argv", ["ednn", *args])
    capsys.readouterr()
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:  # what the fuzz test looks for: a traceback
        code = "traceback"
        print(traceback.format_exc(), file=sys.stderr)
    out, err = capsys.readouterr()
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


@pytest.mark.parametrize("args", _params())
def test_bad_input_gets_one_line_and_changes_nothing(args, inputs, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    for a in args:
        if a.startswith("@") and (inputs / a[1:]).exists():
            shutil.copy(inputs / a[1:], work / a[1:])
    shutil.copy(inputs / "notes.txt", work / "notes.txt")
    monkeypatch.chdir(work)
    before = _snapshot(work)
    result = _ednn([a.lstrip("@") for a in args], capsys, monkeypatch)
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("warning:")]
    assert "Traceback" not in result.stderr, result.stderr.strip().splitlines()[-1]
    assert result.returncode not in (0, "traceback"), result.stdout
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert _snapshot(work) == before, "files were left behind or changed"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "d.npz", "-o", "model.txt"], "model.txt: the file name must end in .safetensors"),
        (["train", "missing.npz", "-o", "m.safetensors"], "data file missing.npz does not exist"),
        (["predict", "missing.safetensors", "d.npz"], "model file missing.safetensors does not exist"),
        (["mc", str(ATOM_MODEL), "-o", "/proc/ednn-fuzz/mc.h5", "--steps", "3"], "cannot make the folder /proc/"),
        (["md", "-c", str(ATOM_MODEL), "-o", "md.traj", "--steps", "3", "--timestep", "0"], "time step must be > 0"),
        (["porous", "sheet", "sheet.txt"], "sheet.txt: the file name must end in .h5 or .hdf5"),
    ],
    ids=["train-suffix", "train-missing-data", "predict-missing-model", "mc-output", "md-range", "porous-sheet-suffix"],
)
def test_argument_errors_answer_from_a_fresh_process_in_one_line(tmp_path, args, message):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 8, 8)), energy=np.zeros(4))
    result = subprocess.run(
        [sys.executable, "-m", "ednn", *args], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 2 and result.stderr.startswith(f"error: {message}"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]
