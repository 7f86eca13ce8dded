"""`ednn md` and `ednn mc` from the command line."""

from ase.io import read, write

from ednn.atoms.montecarlo import read_samples
from ednn.atoms.sheets import honeycomb

MODEL = "models/hexsheets-gfn1xtb.safetensors"


def test_md_with_the_ednn_calculator_and_a_structure_file(ednn_cli, tmp_path):
    write(tmp_path / "sheet.extxyz", honeycomb((5, 3))[0])
    result = ednn_cli("md", tmp_path / "sheet.extxyz", "-c", MODEL, "-o", tmp_path / "md.traj", "--steps", "20")
    assert result.returncode == 0, result.stderr
    frames = read(tmp_path / "md.traj", ":")
    assert len(frames) == 21 and frames[-1].get_potential_energy() < 0


def test_mc_writes_samples_and_resumes(ednn_cli, tmp_path):
    args = ["mc", MODEL, "-o", tmp_path / "mc.h5", "--chains", "2", "--equilibration", "100", "--sample-every", "60"]
    assert ednn_cli(*args, "--steps", "120").returncode == 0
    result = ednn_cli(*args, "--steps", "240")
    assert result.returncode == 0 and "120 steps per chain run now" in result.stdout
    structures, energies = read_samples(tmp_path / "mc.h5")
    assert len(structures) == 2 * 3 and len(energies) == 6


def test_one_line_errors(ednn_cli, tmp_path):
    cases = [
        (["mc", MODEL, "-o", tmp_path / "a.h5", "--steps", "5", "-T", "0"], "temperature must be > 0"),
        (["mc", MODEL, "-o", tmp_path / "b.h5", "--steps", "5", "--step", "0"], "MC step"),
        (["mc", "models/ising-8x8-f1c1.safetensors", "-o", tmp_path / "c.h5", "--steps", "5"], "trained on grids"),
        (["md", "-c", MODEL, "-o", tmp_path / "d.xyz", "--steps", "5"], "must end in .traj"),
        (["md", tmp_path / "missing.xyz", "-c", MODEL, "-o", tmp_path / "e.traj", "--steps", "5"], "no such file"),
        (["md", "-c", "no-such-method", "-o", tmp_path / "f.traj", "--steps", "5"], "unknown reference method"),
        (["md", "--cells", "4x3", "-c", MODEL, "-o", tmp_path / "g.traj", "--steps", "5"], "nearest valid cell"),
    ]
    for args, message in cases:
        result = ednn_cli(*args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
