"""`ednn md` and `ednn mc` from the command line."""

import shutil

import ase.io
from ase.io import read, write

import ednn
from ednn.simulate.montecarlo import read_samples
from ednn.systems.sheets import honeycomb

MODEL = "models/ablations/hexsheets-gfn1xtb-dense.safetensors"


def test_md_with_the_ednn_calculator_and_a_structure_file(ednn_cli, tmp_path):
    write(tmp_path / "sheet.extxyz", honeycomb((5, 3))[0])
    result = ednn_cli("md", tmp_path / "sheet.extxyz", "-c", MODEL, "-o", tmp_path / "md.traj", "--steps", "20")
    assert result.returncode == 0, result.stderr
    frames = read(tmp_path / "md.traj", ":")
    assert len(frames) == 21 and frames[-1].get_potential_energy() < 0


def test_md_resumes_only_with_the_same_settings(ednn_cli, tmp_path):
    args = ["-o", tmp_path / "md.traj", "--steps"]
    assert ednn_cli("md", "-c", MODEL, *args, "3").returncode == 0
    shifted = honeycomb((5, 3))[0]
    shifted.positions[7, 0] += 0.05
    write(tmp_path / "shifted.extxyz", shifted)
    refusals = [
        (["-c", MODEL, "-T", "300"], "temperature: 1000 K in file, 300 K requested"),
        (
            ["-c", "models/ablations/hexsheets-gfn1xtb-qeq.safetensors"],
            f"calculator: {ednn.load(MODEL).calculator().identity} in file, "
            f"{ednn.load('models/ablations/hexsheets-gfn1xtb-qeq.safetensors').calculator().identity} requested",
        ),
        (["-c", MODEL, tmp_path / "shifted.extxyz"], "starting structure: C60 in file, a different C60"),
    ]
    for extra, message in refusals:
        result = ednn_cli("md", *extra, *args, "5")
        assert (
            result.returncode == 2
            and result.stderr.startswith(f"error: {tmp_path / 'md.traj'} was run with other settings (")
            and message in result.stderr
        )
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "c.h5").exists() and not (tmp_path / "h.h5").exists()  # no empty sample file left
    result = ednn_cli("md", "-c", MODEL, *args, "2")
    assert result.returncode == 0 and "already holds 3 steps (--steps 2): nothing run" in result.stdout
    shutil.copy(MODEL, tmp_path / "renamed.safetensors")
    result = ednn_cli("md", "-c", tmp_path / "renamed.safetensors", *args, "5")
    assert result.returncode == 0 and "2 steps run now, 5 in all" in result.stdout
    assert len(read(tmp_path / "md.traj", ":")) == 6


def test_unstable_md_stops_with_one_error_line(ednn_cli, tmp_path):
    result = ednn_cli("md", "-c", "tersoff-bcn", "-o", tmp_path / "hot.traj", "--steps", "10", "--timestep", "5")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1
    assert "unstable at step 3" in errors[0] and "--timestep" in errors[0]
    assert len(read(tmp_path / "hot.traj", ":")) == 3


def test_mc_writes_samples_and_resumes(ednn_cli, tmp_path):
    args = ["mc", MODEL, "-o", tmp_path / "mc.h5", "--chains", "2", "--equilibration", "100", "--sample-every", "60"]
    assert ednn_cli(*args, "--steps", "120").returncode == 0
    result = ednn_cli(*args, "--steps", "240")
    assert result.returncode == 0 and "120 steps per chain run now" in result.stdout
    result = ednn_cli(*args, "--steps", "240", "-T", "500", "--seed", "5")
    assert (
        result.returncode == 2
        and "(temperature: 1000 K in file, 500 K requested; seed: 0 in file, 5 requested)" in result.stderr
        and "np." not in result.stderr
    )
    structures, energies = read_samples(tmp_path / "mc.h5")
    assert len(structures) == 2 * 3 and len(energies) == 6


def test_one_line_errors(ednn_cli, tmp_path):
    boron = honeycomb((5, 3))[0]
    boron.numbers[0] = 5
    ase.io.write(tmp_path / "boron.xyz", boron)
    porous = "models/porous-graphene-rebo.safetensors"
    ase.io.write(tmp_path / "two.xyz", [honeycomb((5, 3))[0]] * 2)
    cases = [
        (["mc", MODEL, "-o", tmp_path / "a.h5", "--steps", "5", "-T", "0"], "temperature must be > 0"),
        (["mc", MODEL, "-o", tmp_path / "b.h5", "--steps", "5", "--step", "0"], "MC step"),
        (["mc", "models/ising-8x8-f1c1.safetensors", "-o", tmp_path / "c.h5", "--steps", "5"], "trained on grids"),
        (["md", "-c", MODEL, "-o", tmp_path / "d.xyz", "--steps", "5"], "must end in .traj"),
        (["md", tmp_path / "missing.xyz", "-c", MODEL, "-o", tmp_path / "e.traj", "--steps", "5"], "no such file"),
        (["md", "-c", "no-such-method", "-o", tmp_path / "f.traj", "--steps", "5"], "unknown reference method"),
        (["md", "--cells", "4x3", "-c", MODEL, "-o", tmp_path / "g.traj", "--steps", "5"], "nearest valid cell"),
        (["mc", porous, tmp_path / "boron.xyz", "-o", tmp_path / "h.h5", "--steps", "5"], "element B is unknown"),
        (["mc", MODEL, tmp_path / "two.xyz", "-o", tmp_path / "i.h5", "--steps", "5"], "holds several structures"),
    ]
    for args, message in cases:
        result = ednn_cli(*args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
        assert not (tmp_path / "c.h5").exists() and not (tmp_path / "h.h5").exists()  # no empty sample file


def test_mc_without_steps_after_equilibration_says_so_instead_of_nan(ednn_cli, tmp_path):
    args = ["mc", MODEL, "-o", tmp_path / "mc.h5", "--chains", "1", "--steps", "3", "--equilibration", "5"]
    result = ednn_cli(*args)
    assert result.returncode == 0, result.stderr
    assert "no steps after equilibration" in result.stdout and "nan" not in result.stdout


def test_mc_reports_no_acceptance_rate_when_the_library_gives_none(ednn_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(
        "ednn.simulate.montecarlo.run_atom_mc", lambda *a, **k: {"steps_run": 3, "step_size": 0.05, "acceptance": None}
    )
    result = ednn_cli("mc", MODEL, "-o", tmp_path / "mc.h5", "--steps", "3")
    assert result.returncode == 0 and "no steps after equilibration" in result.stdout, result.stderr


def test_mc_and_md_refuse_an_unwritable_output_before_any_work(ednn_cli, tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the simulation ran")

    monkeypatch.setattr("ednn.simulate.montecarlo.run_atom_mc", never)
    monkeypatch.setattr("ednn.simulate.dynamics.run_planar_md", never)
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    cases = [
        (["mc", MODEL, "-o", "/proc/ednn-test/mc.h5", "--steps", "3"], "cannot make the folder /proc/ednn-test"),
        (["mc", MODEL, "-o", tmp_path / "notes.txt" / "mc.h5", "--steps", "3"], "cannot make the folder"),
        (["md", "-c", MODEL, "-o", "/proc/md.traj", "--steps", "3"], "cannot write /proc/md.traj"),
        (["md", "-c", MODEL, "-o", tmp_path / "notes.txt" / "md.traj", "--steps", "3"], "cannot make the folder"),
    ]
    for args, message in cases:
        result = ednn_cli(*args)
        assert result.returncode == 2 and result.stderr.startswith(f"error: {message}"), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
