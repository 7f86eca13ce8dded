"""Reference energies with real calculators, in spawned worker processes (each label_file
call that has work to do starts its pool: about 2 s on this machine)."""

import shutil
import time

import h5py
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones

from ednn.core.errors import EDNNError
from ednn.io.structures import StructureFile, write_structures
from ednn.references.label import first_failure, label_file, make_calculator
from ednn.systems.sheets import generate_sheet_file, honeycomb


def direct_energies(structures, calculator):
    """Energies from one calculator in this process."""
    energies = []
    for atoms in structures:
        atoms = atoms.copy()
        atoms.calc = calculator
        energies.append(atoms.get_potential_energy())
    return np.array(energies)


WALL_SECONDS = {}  # of the labelling in tersoff_file


@pytest.fixture(scope="module")
def tersoff_file(tmp_path_factory):
    """10 sheets labelled with tersoff-bcn by two workers; also the indices reported as they came."""
    path = generate_sheet_file(tmp_path_factory.mktemp("tersoff") / "s.h5", (5, 3), 10, seed=1)
    reported = []
    start = time.perf_counter()
    data = label_file(path, "tersoff-bcn", workers=2, progress=False, on_label=reported.append)
    WALL_SECONDS["tersoff"] = time.perf_counter() - start
    return path, data, reported


@pytest.fixture
def labelled_copy(tersoff_file, tmp_path):
    copy = tmp_path / "s.h5"
    shutil.copyfile(tersoff_file[0], copy)
    return copy


def test_label_file_fills_every_energy(tersoff_file):
    path, data, reported = tersoff_file
    assert sorted(reported) == list(range(10))
    assert data.labelled.all() and not data.failed.any()
    assert np.isfinite(data.energy).all() and (data.energy < 0).all()
    # about -7 eV per atom of a B/C/N sheet
    per_atom = data.energy / data.n_atoms
    assert ((per_atom > -10) & (per_atom < -4)).all()
    # each calculation's own time: some, and together no more than two workers had in the whole call
    assert (data.label_seconds > 0).all() and data.label_seconds.sum() <= 2 * WALL_SECONDS["tersoff"]
    assert data.attrs["energy_method"] == "tersoff-bcn"
    reread = StructureFile(path)  # what label_file returned is what is on disk
    np.testing.assert_array_equal(reread.energy, data.energy)


def test_workers_agree_with_a_direct_calculation(tersoff_file):
    path, data, _ = tersoff_file
    expected = direct_energies(data.structures(), make_calculator("tersoff-bcn"))
    np.testing.assert_allclose(data.energy, expected, rtol=0, atol=1e-10)


def test_running_again_labels_nothing_more(labelled_copy):
    before = StructureFile(labelled_copy)
    reported = []
    after = label_file(labelled_copy, "tersoff-bcn", workers=2, progress=False, on_label=reported.append)
    assert reported == []
    np.testing.assert_array_equal(after.energy, before.energy)
    np.testing.assert_array_equal(after.label_seconds, before.label_seconds)


def test_running_again_leaves_the_file_byte_identical(labelled_copy):
    before = labelled_copy.read_bytes()
    label_file(labelled_copy, "tersoff-bcn", progress=False)
    assert labelled_copy.read_bytes() == before


def test_an_interrupted_run_resumes_with_only_the_missing_structures(tersoff_file, labelled_copy):
    _, complete, _ = tersoff_file
    missing = [1, 4, 5, 8]
    with h5py.File(labelled_copy, "r+") as f:  # as if the run had stopped before these were written
        f["energy"][missing] = np.nan
        f["label_seconds"][missing] = np.nan
    assert StructureFile(labelled_copy).labelled.sum() == 6
    reported = []
    resumed = label_file(labelled_copy, "tersoff-bcn", workers=1, progress=False, on_label=reported.append)
    assert sorted(reported) == missing
    assert resumed.labelled.all()
    np.testing.assert_allclose(resumed.energy, complete.energy, rtol=0, atol=1e-10)
    kept = np.setdiff1d(np.arange(10), missing)
    np.testing.assert_array_equal(resumed.label_seconds[kept], complete.label_seconds[kept])


def test_a_file_labelled_with_one_method_refuses_another(labelled_copy):
    before = StructureFile(labelled_copy)
    with h5py.File(labelled_copy, "r+") as f:
        f["energy"][0] = np.nan  # even with work left to do
    with pytest.raises(EDNNError, match="tersoff-bcn") as excinfo:
        label_file(labelled_copy, "gfn1-xtb", progress=False)
    assert "\n" not in str(excinfo.value) and "copy" in str(excinfo.value)
    after = StructureFile(labelled_copy)
    assert after.attrs["energy_method"] == "tersoff-bcn" and np.isnan(after.energy[0])
    np.testing.assert_array_equal(after.energy[1:], before.energy[1:])


@pytest.mark.parametrize(
    "method",
    [
        "dft-please",
        "gfn3-xtb",
        "ase.calculators.no_such_module:Calc",
        "ase.calculators.lj:NoSuchFactory",
        ":EMT",
        "math:sqrt",
        "math:pi",
        "collections:OrderedDict",
    ],
)
def test_unknown_methods_are_refused_before_anything_is_written(tmp_path, method):
    path = generate_sheet_file(tmp_path / "s.h5", (5, 3), 2, seed=0)
    before = path.read_bytes()
    with pytest.raises(EDNNError) as excinfo:
        label_file(path, method, progress=False)
    assert "\n" not in str(excinfo.value) and method.split(":")[0] in str(excinfo.value)
    assert path.read_bytes() == before  # not even the energy_method attribute


def test_a_factory_that_raises_is_named_with_its_exception(ednn_cli, tmp_path):
    path = generate_sheet_file(tmp_path / "s.h5", (5, 3), 2, seed=0)
    result = ednn_cli("label", path, "-m", "math:sqrt")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: calculator factory 'math:sqrt' raised TypeError: math.sqrt() takes exactly one argument (0 given)"
    ]


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(EDNNError, match="does not exist"):
        label_file(tmp_path / "nothing.h5", "tersoff-bcn", progress=False)


def test_any_ase_calculator_as_module_colon_factory(tmp_path):
    path = generate_sheet_file(tmp_path / "s.h5", (5, 3), 3, seed=2)
    data = label_file(path, "ase.calculators.lj:LennardJones", workers=1, progress=False)
    assert data.labelled.all() and data.attrs["energy_method"] == "ase.calculators.lj:LennardJones"
    np.testing.assert_allclose(data.energy, direct_energies(data.structures(), LennardJones()), rtol=0, atol=1e-10)


def test_structures_the_calculator_refuses_are_marked_failed_and_not_retried(tmp_path):
    """EMT has no parameters for B: those structures fail, the B-free ones are labelled."""
    graphene, _ = honeycomb((2, 2))
    doped = graphene.copy()
    doped.numbers[[0, 3]] = 5
    path = write_structures(tmp_path / "s.h5", [graphene, doped, graphene])
    start = time.perf_counter()
    data = label_file(path, "ase.calculators.emt:EMT", workers=1, progress=False)
    wall = time.perf_counter() - start
    np.testing.assert_array_equal(data.failed, [False, True, False])
    np.testing.assert_array_equal(data.labelled, [True, False, True])
    np.testing.assert_allclose(data.energy[[0, 2]], direct_energies([graphene], EMT())[0], rtol=0, atol=1e-10)
    # the failed attempt's time is kept too (not NaN), and one worker's times fit in the call
    assert (data.label_seconds > 0).all() and data.label_seconds.sum() <= wall
    assert data.failure_reason.tolist() == ["", "NotImplementedError: No EMT-potential for B", ""]
    assert first_failure(data) == "structure 1: NotImplementedError: No EMT-potential for B"
    reported = []
    again = label_file(path, "ase.calculators.emt:EMT", progress=False, on_label=reported.append)
    assert reported == [] and again.failed[1]


def test_cli_label_prints_the_first_failure_of_a_partly_labelled_file(ednn_cli, tmp_path):
    graphene, _ = honeycomb((2, 2))
    doped = graphene.copy()
    doped.numbers[0] = 5
    path = write_structures(tmp_path / "s.h5", [graphene, graphene, doped])
    result = ednn_cli("label", path, "-m", "ase.calculators.emt:EMT")
    assert result.returncode == 0, result.stderr
    assert "2 of 3 labelled (1 failed)" in result.stdout
    assert "first failure: structure 2: NotImplementedError: No EMT-potential for B" in result.stdout
    refused = ednn_cli("label", path, "-m", "ase.calculators.lj:LennardJones")  # tied by its 2 labels
    assert (
        refused.returncode == 2
        and "is labelled with other settings (energy method: ase.calculators.emt:EMT in file" in refused.stderr
    )


def test_a_file_where_every_structure_failed_is_an_error_and_open_to_another_method(ednn_cli, tmp_path):
    graphene, _ = honeycomb((2, 2))
    doped = graphene.copy()
    doped.numbers[[0, 3]] = 5
    path = write_structures(tmp_path / "s.h5", [doped, doped])
    result = ednn_cli("label", path, "-m", "ase.calculators.emt:EMT")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1:] == [  # after the progress bar
        f"error: {path}: all 2 structures failed with 'ase.calculators.emt:EMT' "
        "(structure 0: NotImplementedError: No EMT-potential for B); fix the method or choose another and run again"
    ]
    failed = StructureFile(path)
    assert failed.failed.all() and (failed.failure_reason != "").all()
    data = label_file(path, "ase.calculators.lj:LennardJones", progress=False)  # failures retried with it
    assert data.labelled.all() and not data.failed.any() and (data.failure_reason == "").all()
    assert data.attrs["energy_method"] == "ase.calculators.lj:LennardJones"
    np.testing.assert_allclose(data.energy, direct_energies([doped], LennardJones())[0], rtol=0, atol=1e-10)


NAN_CALCULATOR = '''
from ase.calculators.lj import LennardJones


class NaNEnergy(LennardJones):
    """Lennard-Jones whose energy is NaN."""

    def calculate(self, atoms=None, properties=None, system_changes=None):
        super().calculate(atoms, properties, system_changes)
        self.results["energy"] = float("nan")
'''


def test_a_nan_energy_is_a_failure(tmp_path, monkeypatch):
    (tmp_path / "nan_calculator.py").write_text(NAN_CALCULATOR)
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # for the spawned workers
    path = write_structures(tmp_path / "s.h5", [honeycomb((2, 2))[0]])
    with pytest.raises(EDNNError, match="structure 0: the energy is nan"):
        label_file(path, "nan_calculator:NaNEnergy", progress=False)
    assert StructureFile(path).failed.all()


def test_gfn1_xtb_matches_tblite_called_directly(tmp_path):
    from tblite.ase import TBLite

    path = generate_sheet_file(tmp_path / "s.h5", (5, 3), 2, seed=4)
    data = label_file(path, "gfn1-xtb", workers=2, progress=False)
    assert data.labelled.all() and np.isfinite(data.energy).all()
    assert data.attrs["energy_method"] == "gfn1-xtb"
    expected = direct_energies(data.structures(), TBLite(method="GFN1-xTB", verbosity=0))
    np.testing.assert_allclose(data.energy, expected, rtol=0, atol=1e-8)


CRASHING_CALCULATOR = '''
import os
from ase.calculators.lj import LennardJones


class Crashing(LennardJones):
    """Lennard-Jones that kills its worker process on structures holding boron."""

    def calculate(self, atoms=None, properties=None, system_changes=None):
        if 5 in atoms.numbers:
            os._exit(1)  # as a worker killed for memory or a crash in a reference code would
        super().calculate(atoms, properties, system_changes)
'''

LABEL_IN_SUBPROCESS = """
import sys
from ednn.references.label import label_file
from ednn.core.errors import EDNNError
try:
    label_file(sys.argv[1], "crashing_calculator:Crashing", workers=1, progress=False)
except EDNNError as exc:
    print(exc)
"""


@pytest.mark.slow
def test_a_worker_that_dies_does_not_hang_labelling(tmp_path):
    """Runs label_file in a subprocess with a time limit (its process group is killed after)."""
    import os
    import signal
    import subprocess
    import sys

    (tmp_path / "crashing_calculator.py").write_text(CRASHING_CALCULATOR)
    graphene, _ = honeycomb((2, 1))
    doped = graphene.copy()
    doped.numbers[0] = 5
    path = write_structures(tmp_path / "s.h5", [graphene, doped, graphene])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-c", LABEL_IN_SUBPROCESS, str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the subprocess and the workers it spawned
        process.communicate()
        pytest.fail("label_file still waiting 8 s after a worker died (3 structures of 8 atoms)")
    # a clear error instead of a hang; what finished before the crash is saved, nothing else
    assert "worker died" in out and "run the same command again" in out, out
    assert StructureFile(path).labelled.tolist() == [True, False, False], out
