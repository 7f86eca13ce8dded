import math
from collections import Counter

import numpy as np
import pytest
from ase.neighborlist import neighbor_list
from hypothesis import given, settings
from hypothesis import strategies as st

from ednn.core.errors import EDNNError
from ednn.io.structures import StructureFile
from ednn.systems.sheets import (
    KINDS,
    LATTICE_A,
    MAX_VACANCY_FRACTION,
    VACUUM,
    generate_sheet_file,
    honeycomb,
    random_sheet,
)

BOND = LATTICE_A / math.sqrt(3.0)
B, C, N = 5, 6, 7
REPS = st.sampled_from([(5, 3), (2, 2), (3, 4), (10, 6)])


def bonds(atoms, cutoff=1.2 * BOND):
    """Neighbour pairs (i, j, distance) within `cutoff`, every periodic image included."""
    return neighbor_list("ijd", atoms, cutoff)


def ideal_site_of(sheet, reps):
    """Index of the ideal honeycomb site each atom of `sheet` came from (minimum-image nearest)."""
    ideal, _ = honeycomb(reps)
    lengths = np.asarray(ideal.cell.lengths()[:2])
    delta = sheet.positions[:, None, :2] - ideal.positions[None, :, :2]
    delta -= lengths * np.round(delta / lengths)
    distance = np.linalg.norm(delta, axis=-1)
    site = distance.argmin(1)
    return site, distance[np.arange(len(sheet)), site], ideal


def test_training_cell_has_60_sites_in_a_12_50_by_12_99_cell():
    sheet, sublattice = honeycomb((5, 3))
    assert len(sheet) == 60 and set(sheet.numbers) == {C}
    np.testing.assert_allclose(sheet.cell.lengths(), [5 * LATTICE_A, 3 * LATTICE_A * math.sqrt(3), VACUUM])
    assert round(sheet.cell[1, 1], 2) == 12.99
    np.testing.assert_array_equal(sheet.cell.array - np.diag(np.diag(sheet.cell.array)), 0)  # rectangular
    np.testing.assert_array_equal(sheet.positions[:, 2], VACUUM / 2)  # the plane z = 10 Å
    assert sheet.pbc.all()
    assert sorted(Counter(sublattice.tolist()).values()) == [30, 30]
    # every site inside the cell
    assert (sheet.positions[:, :2] >= 0).all() and (sheet.positions[:, :2] < sheet.cell.lengths()[:2]).all()


@pytest.mark.parametrize("reps", [(5, 3), (1, 1), (2, 1), (10, 6)])
def test_every_pristine_site_has_three_neighbours_at_a_over_root_3(reps):
    sheet, sublattice = honeycomb(reps)
    assert len(sheet) == 4 * reps[0] * reps[1]
    i, j, d = bonds(sheet)
    np.testing.assert_allclose(d, BOND, rtol=1e-12)
    np.testing.assert_array_equal(np.bincount(i, minlength=len(sheet)), 3)
    # bonds join the two sublattices (bipartite honeycomb)
    assert (sublattice[i] != sublattice[j]).all()
    # nothing else closer than the second-neighbour distance a
    _, _, d2 = neighbor_list("ijd", sheet, 0.99 * LATTICE_A)
    assert len(d2) == len(d)


def test_hbn_puts_b_and_n_on_opposite_sublattices():
    found = 0
    for index in range(100):
        sheet, kind = random_sheet((5, 3), 0, index)
        if kind != "hbn":
            continue
        found += 1
        assert set(sheet.numbers) <= {B, N}
        i, j, _ = bonds(sheet)
        # 3 bonds per site (each listed from both ends), less at most 3 for each of the 60 − n vacancies
        assert 3 * len(sheet) - 3 * (60 - len(sheet)) <= len(i) <= 3 * len(sheet)
        assert np.bincount(i, minlength=len(sheet)).max() == 3
        pairs = {tuple(sorted(p)) for p in zip(sheet.numbers[i], sheet.numbers[j])}
        assert pairs == {(B, N)}, "hBN must have only B–N bonds"
        if len(sheet) == 60:  # no vacancies: exactly one of each per sublattice pair
            assert Counter(sheet.numbers.tolist()) == {B: 30, N: 30}
    assert found >= 2


@settings(max_examples=8, deadline=None)
@given(reps=REPS, seed=st.integers(0, 2**31 - 1), index=st.integers(0, 10**6))
def test_same_seed_reps_and_index_give_the_same_structure(reps, seed, index):
    a, kind_a = random_sheet(reps, seed, index)
    b, kind_b = random_sheet(reps, seed, index)
    assert kind_a == kind_b == a.info["kind"]
    np.testing.assert_array_equal(a.numbers, b.numbers)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.cell.array, b.cell.array)
    c, _ = random_sheet(reps, seed, index + 1)
    assert len(c) != len(a) or not np.array_equal(c.positions, a.positions)


@settings(max_examples=15, deadline=None)
@given(reps=REPS, seed=st.integers(0, 2**31 - 1), index=st.integers(0, 10**6))
def test_vacancies_at_most_5_percent_and_displacements_small_and_in_plane(reps, seed, index):
    sheet, kind = random_sheet(reps, seed, index)
    sites = 4 * reps[0] * reps[1]
    assert kind in KINDS
    assert set(sheet.numbers) <= {B, C, N}
    assert sites - len(sheet) <= MAX_VACANCY_FRACTION * sites
    site, displacement, ideal = ideal_site_of(sheet, reps)
    assert len(set(site.tolist())) == len(sheet)  # each atom sits near its own ideal site
    assert displacement.max() < 0.4
    np.testing.assert_array_equal(sheet.positions[:, 2], VACUUM / 2)
    np.testing.assert_array_equal(sheet.cell.array, ideal.cell.array)


def test_all_five_kinds_appear_with_roughly_their_weights():
    kinds = Counter(random_sheet((5, 3), 0, k)[1] for k in range(200))
    assert set(kinds) == set(KINDS)
    assert all(kinds[k] >= 5 for k in KINDS)
    vacancies = [60 - len(random_sheet((5, 3), 0, k)[0]) for k in range(200)]
    assert max(vacancies) == 3 and 0 in vacancies  # 5 % of 60 sites at most, some pristine
    rms = [np.sqrt(np.mean(ideal_site_of(random_sheet((5, 3), 0, k)[0], (5, 3))[1] ** 2)) for k in range(0, 200, 10)]
    assert 0 < max(rms) < 0.15  # rms in-plane displacement up to ~0.1 Å


def test_structure_depends_only_on_its_own_index(tmp_path):
    """Structure k of a file equals random_sheet(reps, seed, k), whatever the count."""
    path = generate_sheet_file(tmp_path / "s.h5", (5, 3), 6, seed=3)
    data = StructureFile(path)
    assert len(data) == 6 and data.attrs["seed"] == 3 and list(data.attrs["reps"]) == [5, 3]
    assert not data.labelled.any()
    for k, atoms in enumerate(data.structures()):
        expected, kind = random_sheet((5, 3), 3, k)
        np.testing.assert_array_equal(atoms.numbers, expected.numbers)
        np.testing.assert_array_equal(atoms.positions, expected.positions)
        assert data.kind[k] == kind


def test_cli_generate_records_its_command_and_rounds_positions_when_asked(ednn_cli, tmp_path):
    out = tmp_path / "s.h5"
    result = ednn_cli("sheets", "generate", out, "-n", "3", "--seed", "2", "--decimals", "4")
    assert result.returncode == 0 and "wrote 3 structures" in result.stdout
    data = StructureFile(out)
    assert data.attrs["command"] == f"ednn sheets generate {out} -n 3 --seed 2 --decimals 4"
    for k, atoms in enumerate(data.structures()):
        np.testing.assert_allclose(
            atoms.positions, random_sheet((5, 3), 2, k)[0].positions, rtol=0, atol=0.5e-4 + 1e-12
        )
    result = ednn_cli("sheets", "generate", out, "-n", "3")
    assert result.returncode != 0 and "never overwritten" in result.stderr


def test_a_bad_output_path_is_refused_before_any_sheet_is_made(tmp_path, monkeypatch):
    def never(*args):
        raise AssertionError("a sheet was made")

    monkeypatch.setattr("ednn.systems.sheets.random_sheet", never)
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    with pytest.raises(EDNNError, match="cannot make the folder"):
        generate_sheet_file(tmp_path / "notes.txt" / "s.h5", (5, 3), 7000, seed=0)
