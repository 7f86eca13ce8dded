"""Planar MD with a reference or an EDNN calculator, resumable from its trajectory."""

import numpy as np
import pytest
from ase.io import read

from ednn.atoms.dynamics import run_planar_md
from ednn.atoms.reference import make_calculator
from ednn.atoms.sheets import honeycomb
from ednn.errors import EDNNError


def test_planar_md_stays_in_plane_and_a_resumed_run_continues_from_its_last_frame(tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=1000.0, timestep_fs=1.0, seed=2, progress=False)
    run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "once.traj", steps=40, **settings)
    run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "twice.traj", steps=15, **settings)
    assert run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "twice.traj", steps=40, **settings) == 25
    once, twice = read(tmp_path / "once.traj", ":"), read(tmp_path / "twice.traj", ":")
    assert len(once) == len(twice) == 41
    np.testing.assert_allclose(once[15].positions, twice[15].positions)
    assert np.ptp([frame.positions[:, 2] for frame in once]) == 0
    assert np.abs(once[-1].positions - once[0].positions).max() > 0.01
    assert run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "once.traj", steps=40, **settings) == 0


def test_bad_input(tmp_path):
    atoms = honeycomb((5, 3))[0]
    calc = make_calculator("tersoff-bcn")
    for bad, match in [({"temperature_K": -1.0}, "temperature"), ({"timestep_fs": 0.0}, "time step"),
                       ({"steps": 0}, "steps")]:
        settings = {"temperature_K": 300.0, "timestep_fs": 1.0, "steps": 5, **bad}
        with pytest.raises(EDNNError, match=match):
            run_planar_md(atoms, calc, tmp_path / "x.traj", progress=False, **settings)
    (tmp_path / "junk.traj").write_text("not a trajectory")
    with pytest.raises(EDNNError, match="cannot continue"):
        run_planar_md(atoms, calc, tmp_path / "junk.traj", temperature_K=300.0, timestep_fs=1.0, steps=5)
