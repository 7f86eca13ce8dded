"""Thermal displacements blended across patch seams (synthetic pools: no MD needed)."""

import numpy as np
import pytest
from ase import Atoms
from ase.neighborlist import neighbor_list

from ednn.core.errors import EDNNError
from ednn.io.giant import GiantFile
from ednn.systems.porous import CELLS, LATTICE_A, VACUUM
from ednn.systems.porous_sheet import slot_choice, write_porous_sheet
from ednn.systems.seam_blend import blended_column, pool_field
from ednn.systems.sheets import honeycomb

WIDTH = 8.0


def lattice() -> Atoms:
    return honeycomb(CELLS, a=LATTICE_A, vacuum=VACUUM)[0]


def noisy_pool(size: int, sigma: float = 0.05, seed: int = 0) -> list[Atoms]:
    """Pristine patches with independent Gaussian in-plane displacements at every site."""
    rng, pool = np.random.default_rng(seed), []
    for _ in range(size):
        patch = lattice()
        patch.positions[:, :2] += rng.normal(0, sigma, (len(patch), 2))
        patch.wrap()
        pool.append(patch)
    return pool


def wavy_pool(size: int, amplitude: float = 0.1, seed: int = 0) -> list[Atoms]:
    """Patches displaced by smooth periodic waves of random phase: bonds inside a patch barely strain."""
    rng, pool = np.random.default_rng(seed), []
    for _ in range(size):
        patch = lattice()
        k = 2 * np.pi / patch.cell.lengths()[:2]
        phase = rng.uniform(0, 2 * np.pi, (2, 2))
        xy = patch.positions[:, :2]
        for c in range(2):
            patch.positions[:, c] += (
                amplitude * np.sin(xy[:, 0] * k[0] + phase[c, 0]) * np.cos(xy[:, 1] * k[1] + phase[c, 1])
            )
        patch.wrap()
        pool.append(patch)
    return pool


def sheet(path, pool, patches=(3, 3), blend=WIDTH) -> Atoms:
    write_porous_sheet(path, patches, pool, seed=5, blend=blend, progress=False)
    with GiantFile(path) as giant:
        bins = giant.bins
        return Atoms(numbers=bins.numbers[:], positions=bins.positions[:], cell=bins.cell, pbc=True)


def column(pool, i=0, nx=3, ny=3, width=WIDTH):
    choice = np.stack([slot_choice(5, (i + d) % nx, ny, len(pool)) for d in (-1, 0, 1)])
    return blended_column(pool, pool_field(pool), choice, width)[0], choice


def test_a_one_patch_pool_is_plain_tiling(tmp_path):
    pool = noisy_pool(1)
    blended, plain = sheet(tmp_path / "b.h5", pool), sheet(tmp_path / "p.h5", pool, blend=0)
    np.testing.assert_allclose(blended.positions, plain.positions, atol=1e-9)


def test_far_from_seams_nothing_moves_and_near_them_the_spread_is_kept():
    pool = noisy_pool(8, sigma=0.05)
    positions, choice = column(pool, nx=4, ny=6)
    field, ideal = pool_field(pool), lattice().positions[:, :2]
    own = np.concatenate([pool[k].positions for k in choice[1]])
    rows = np.repeat(np.arange(6), len(ideal))
    shift = positions[:, :2] - np.tile(ideal, (6, 1)) - np.column_stack([np.zeros(len(rows)), rows * field.lengths[1]])
    seam = np.minimum(ideal, field.lengths - ideal).min(1) < WIDTH
    np.testing.assert_allclose(
        positions[~np.tile(seam, 6)][:, :2] - own[~np.tile(seam, 6)][:, :2],
        np.column_stack([np.zeros((~seam).sum() * 6), rows[~np.tile(seam, 6)] * field.lengths[1]]),
        atol=1e-9,
    )
    near = shift[np.tile(seam, 6)]
    assert near.std() == pytest.approx(0.05, rel=0.04)


def test_bonds_across_seams_strain_like_bonds_inside(tmp_path):
    pool = wavy_pool(6)

    def strain(atoms):
        i, j, d = neighbor_list("ijd", atoms, 1.8)
        xy = np.mod(atoms.positions[:, :2], pool[0].cell.lengths()[:2])
        edge = (np.minimum(xy, pool[0].cell.lengths()[:2] - xy) < 1.5).any(1)
        deviation = np.abs(d - LATTICE_A / np.sqrt(3))
        return deviation[edge[i] & edge[j]].max(), deviation[~edge[i] & ~edge[j]].max()

    plain_seam, plain_inside = strain(sheet(tmp_path / "p.h5", pool, blend=0))
    blended_seam, blended_inside = strain(sheet(tmp_path / "b.h5", pool))
    assert plain_seam > 3 * plain_inside  # what blending is for
    assert blended_seam < 1.5 * blended_inside


def test_pores_and_wandering_atoms(tmp_path):
    pool = noisy_pool(3, seed=2)
    pool[1] = pool[1][np.linalg.norm(pool[1].positions[:, :2] - [2.0, 2.0], axis=1) > 2.5]  # a pore at a corner
    pool[2].positions[10, 0] += 0.6  # off its site: keeps its own position
    field = pool_field(pool)
    assert field.sites[2][10] == -1 and np.isnan(field.field[1]).any()
    atoms = sheet(tmp_path / "s.h5", pool, patches=(4, 3))
    plain = sheet(tmp_path / "p.h5", pool, patches=(4, 3), blend=0)
    # the same atoms in the same order, each moved in the plane by at most a few σ = 0.05 Å (blending
    # exchanges thermal displacements, it never takes an atom off its site), z untouched
    assert len(atoms) == len(plain)
    np.testing.assert_array_equal(atoms.numbers, plain.numbers)
    np.testing.assert_array_equal(atoms.positions[:, 2], plain.positions[:, 2])
    lengths = atoms.cell.lengths()[:2]
    moved = atoms.positions[:, :2] - plain.positions[:, :2]
    assert np.linalg.norm(moved - lengths * np.round(moved / lengths), axis=1).max() < 6 * 0.05
    assert np.bincount(neighbor_list("i", atoms, 1.8), minlength=len(atoms)).min() >= 1
    wandered = plain.positions[np.isclose(np.mod(plain.positions[:, 0], pool[0].cell[0, 0]), pool[2].positions[10, 0])]
    for position in wandered:
        assert np.isclose(atoms.positions, position).all(1).any()


def test_bad_input(tmp_path):
    with pytest.raises(EDNNError, match="seam blend width"):
        sheet(tmp_path / "w.h5", noisy_pool(2), blend=20.0)
    small = honeycomb((4, 4), a=LATTICE_A, vacuum=VACUUM)[0]
    with pytest.raises(EDNNError, match="patch lattice"):
        pool_field([small])


def test_the_command_blends_as_the_library_does():
    from ednn.cli.main import main
    from ednn.systems.porous_sheet import BLEND_WIDTH

    blend = next(p for p in main.commands["porous"].commands["sheet"].params if p.name == "blend")
    assert blend.default == BLEND_WIDTH
