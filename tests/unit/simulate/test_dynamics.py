"""Planar MD with a reference or an EDNN calculator, resumable from its trajectory."""

import re

import numpy as np
import pytest
from ase.calculators.calculator import Calculator, all_changes
from ase.io import read, write

import ednn
from ednn.core.errors import EDNNError
from ednn.references.label import make_calculator
from ednn.simulate.dynamics import run_planar_md
from ednn.systems.sheets import honeycomb


def test_planar_md_stays_in_plane_and_a_resumed_run_continues_from_its_last_frame(tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=1000.0, timestep_fs=1.0, seed=2, progress=False)
    run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "once.traj", steps=40, **settings)
    run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "twice.traj", steps=15, **settings)
    assert run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "twice.traj", steps=40, **settings) == (
        25,
        40,
    )
    once, twice = read(tmp_path / "once.traj", ":"), read(tmp_path / "twice.traj", ":")
    assert len(once) == len(twice) == 41
    np.testing.assert_allclose(once[15].positions, twice[15].positions)
    assert np.ptp([frame.positions[:, 2] for frame in once]) == 0
    assert np.abs(once[-1].positions - once[0].positions).max() > 0.01
    last = once[-1].copy()  # the energy stored with a frame is the reference's at its positions
    last.calc = make_calculator("tersoff-bcn")
    assert once[-1].get_potential_energy() == pytest.approx(last.get_potential_energy(), rel=1e-12)
    assert run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "once.traj", steps=40, **settings) == (0, 40)
    assert run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "once.traj", steps=10, **settings) == (0, 40)
    assert len(read(tmp_path / "once.traj", ":")) == 41


def test_a_resume_with_other_settings_or_another_start_is_refused_naming_each_difference(tmp_path):
    atoms = honeycomb((5, 3))[0]
    calc = make_calculator("tersoff-bcn")
    settings = dict(temperature_K=1000.0, timestep_fs=1.0, friction_per_fs=0.01, seed=0, calculator_name="tersoff-bcn")
    run_planar_md(atoms, calc, tmp_path / "md.traj", steps=2, progress=False, **settings)
    shifted = atoms.copy()
    shifted.positions[7, 0] += 0.05
    changes = [
        ({"temperature_K": 300.0}, atoms, "temperature: 1000 K in file, 300 K requested"),
        ({"timestep_fs": 0.5}, atoms, "time step: 1 fs in file, 0.5 fs requested"),
        ({"friction_per_fs": 0.02}, atoms, "friction: 0.01 /fs in file, 0.02 /fs requested"),
        ({"seed": 4}, atoms, "seed: 0 in file, 4 requested"),
        ({"calculator_name": "gfn1-xtb"}, atoms, "calculator: tersoff-bcn in file, gfn1-xtb requested"),
        ({}, shifted, "starting structure: C60 in file, a different C60 requested"),
    ]
    for change, start, message in changes:
        with pytest.raises(EDNNError, match=re.escape(f"md.traj was run with other settings ({message})")):
            run_planar_md(start, calc, tmp_path / "md.traj", steps=4, progress=False, **{**settings, **change})
    assert len(read(tmp_path / "md.traj", ":")) == 3
    write(tmp_path / "foreign.traj", atoms)
    with pytest.raises(EDNNError, match="holds no ednn MD settings"):
        run_planar_md(atoms, calc, tmp_path / "foreign.traj", steps=4, progress=False, **settings)


def test_an_ednn_model_is_recorded_by_its_content_and_another_model_is_refused(tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=300.0, timestep_fs=1.0, progress=False)
    model = ednn.load("models/ablations/hexsheets-gfn1xtb-dense.safetensors").calculator()
    other = ednn.load("models/ablations/hexsheets-gfn1xtb-density.safetensors").calculator()
    run_planar_md(atoms, model, tmp_path / "md.traj", steps=1, **settings)
    with pytest.raises(
        EDNNError, match=re.escape(f"(calculator: {model.identity} in file, {other.identity} requested)")
    ):
        run_planar_md(atoms, other, tmp_path / "md.traj", steps=2, **settings)
    same = ednn.load("models/ablations/hexsheets-gfn1xtb-dense.safetensors").calculator()
    assert run_planar_md(atoms, same, tmp_path / "md.traj", steps=2, **settings) == (1, 2)


class _FailsAfter(Calculator):
    """No forces; from the call after `good_calls` on, the energy is NaN or, given `refusal`, EDNNError(refusal)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, good_calls: int, refusal: str | None = None):
        super().__init__()
        self.calls_left, self.refusal = good_calls, refusal

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls_left -= 1
        if self.calls_left < 0 and self.refusal is not None:
            raise EDNNError(self.refusal)
        self.results = {"energy": 0.0 if self.calls_left >= 0 else np.nan, "forces": np.zeros((len(self.atoms), 3))}


def test_an_unstable_run_stops_at_its_first_bad_step_and_keeps_the_frames_before(tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=1000.0, steps=10, progress=False)
    # Tersoff graphene at 5 fs: ~1 000, ~1 000, ~3 000, ~25 000 K, ... (1e8 K by step 6)
    with pytest.raises(
        EDNNError,
        match=r"unstable at step 3: temperature \d+ K, above the limit of 10000 K; "
        r"frames up to step 2 are kept in .*time step below 5 fs",
    ):
        run_planar_md(atoms, make_calculator("tersoff-bcn"), tmp_path / "hot.traj", timestep_fs=5.0, **settings)
    frames = read(tmp_path / "hot.traj", ":")
    assert len(frames) == 3 and max(frame.get_temperature() for frame in frames) < 10_000
    with pytest.raises(EDNNError, match="unstable at step 3: non-finite energy"):
        run_planar_md(atoms, _FailsAfter(3), tmp_path / "nan.traj", timestep_fs=1.0, **settings)
    # the three frames before the NaN, with the energy the calculator gave them
    assert [frame.get_potential_energy() for frame in read(tmp_path / "nan.traj", ":")] == [0.0, 0.0, 0.0]
    with pytest.raises(EDNNError, match="cannot start MD from this structure: non-finite"):
        run_planar_md(atoms, _FailsAfter(0), tmp_path / "bad.traj", timestep_fs=1.0, **settings)


def test_a_refusal_by_the_calculator_or_on_frame_stops_the_run_without_time_step_advice(tmp_path):
    atoms = honeycomb((5, 3))[0]
    settings = dict(temperature_K=1000.0, timestep_fs=1.0, steps=10, progress=False)
    refusal = "atoms 3 and 4 are 0.200 Å apart in the plane"
    with pytest.raises(EDNNError) as caught:
        run_planar_md(atoms, _FailsAfter(3, refusal), tmp_path / "close.traj", **settings)
    assert str(caught.value) == (
        f"MD stopped at step 3: {refusal}; frames up to step 2 are kept in {tmp_path / 'close.traj'}"
    )
    assert len(read(tmp_path / "close.traj", ":")) == 3

    seen = []

    def stop_at_frame_4(frame):
        seen.append(frame.get_temperature())
        if len(seen) == 5:
            raise EDNNError("enough")

    with pytest.raises(EDNNError, match=r"^MD stopped at step 4: enough; frames up to step 3 are kept in [^;]*$"):
        run_planar_md(
            atoms, make_calculator("tersoff-bcn"), tmp_path / "seen.traj", on_frame=stop_at_frame_4, **settings
        )
    assert len(read(tmp_path / "seen.traj", ":")) == 4


def test_bad_input(tmp_path):
    atoms = honeycomb((5, 3))[0]
    calc = make_calculator("tersoff-bcn")
    for bad, match in [
        ({"temperature_K": -1.0}, "temperature"),
        ({"timestep_fs": 0.0}, "time step"),
        ({"steps": 0}, "steps"),
    ]:
        settings = {"temperature_K": 300.0, "timestep_fs": 1.0, "steps": 5, **bad}
        with pytest.raises(EDNNError, match=match):
            run_planar_md(atoms, calc, tmp_path / "x.traj", progress=False, **settings)
    (tmp_path / "junk.traj").write_text("not a trajectory")
    with pytest.raises(EDNNError, match="cannot continue"):
        run_planar_md(atoms, calc, tmp_path / "junk.traj", temperature_K=300.0, timestep_fs=1.0, steps=5)
