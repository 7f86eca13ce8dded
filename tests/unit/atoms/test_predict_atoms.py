import math

import numpy as np
import pytest
import torch
from ase import Atoms

import ednn
from ednn.atoms.images import AtomImaging
from ednn.atoms.model import AtomEDNN
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net
from ednn.systems.sheets import honeycomb, random_sheet

FOCUS, CONTEXT, GRID = 16, 8, 64
CELL = honeycomb((5, 3))[0].cell.lengths()[:2]  # 12.50 × 12.99... Å, the 60-site cell
PIXEL = (CELL[0] / GRID, CELL[1] / GRID)
GAMMA = 0.2


def atom_model(seed=0):
    """An untrained atom EDNN with nonzero per-element offsets and a scale that makes the
    network's share of the energy a few eV, comparable to what training gives."""
    torch.manual_seed(seed)
    imaging = AtomImaging(pixel_size=PIXEL, elements=(5, 6, 7), gamma=GAMMA)
    model = AtomEDNN(
        build_net("atom_cnn", tile=FOCUS + 2 * CONTEXT, channels=3), FOCUS, CONTEXT, channels=3, imaging=imaging
    )
    with torch.no_grad():
        model.target.offset_per_intensity.copy_(torch.tensor([[-0.31, -0.52, -0.43]], dtype=torch.float64))
        model.target.scale.fill_(7.5)
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return atom_model()


def sheet(index=0, seed=1):
    return random_sheet((5, 3), seed, index)[0]


def network_part(model, atoms):
    """Prediction minus the per-element offsets: what the tile network adds."""
    image = model.imaging.image(atoms, model.focus).numpy()
    intensity = torch.from_numpy(image.sum((0, 1), dtype=np.float64))[None]
    return model.predict_atoms(atoms)[0] - float(model.target.offsets(0, intensity)[0, 0])


def test_energy_is_extensive_over_supercells(model):
    """A 2×2 (3×2) supercell renders to the 60-atom image tiled 2×2 (3×2): the same tiles,
    summed in float64. The images are float32, but a periodic copy of an atom shifted by a
    whole cell lands on the same sub-pixel offset (up to float64 rounding of x + L before the
    float32 cast), so the tiles are the same up to at most an ulp: relative 1e-9 on the total
    is a tolerance with a wide margin (measured ~1e-12). The network's own share is held to
    1e-6, the float32 precision of one tile's output."""
    for index in range(3):
        atoms = sheet(index)
        single = model.predict_atoms(atoms)[0]
        for reps, copies in (((2, 2, 1), 4), ((3, 2, 1), 6)):
            big = atoms.repeat(reps)
            assert len(big) == copies * len(atoms)
            np.testing.assert_allclose(model.predict_atoms(big)[0], copies * single, rtol=1e-9)
            net = network_part(model, atoms)
            assert abs(net) > 1e-2 * abs(single) / 60  # the network contributes something real
            np.testing.assert_allclose(network_part(model, big), copies * net, rtol=1e-6)


def test_invariant_under_translations_by_whole_focus_regions(model):
    atoms = sheet(2)
    reference = model.predict_atoms(atoms)[0]
    moved = []
    for shift in ((FOCUS * PIXEL[0], 0), (-3 * FOCUS * PIXEL[0], 2 * FOCUS * PIXEL[1]), (0, 5 * FOCUS * PIXEL[1])):
        copy = atoms.copy()
        copy.positions[:, :2] += shift
        moved.append(copy)
    lifted = atoms.copy()
    lifted.positions[:, 2] += 1.7  # z is not part of the image
    np.testing.assert_allclose(model.predict_atoms(moved + [lifted]), reference, rtol=1e-5)


def test_equals_predict_on_the_rendered_image(model):
    structures = [sheet(k) for k in range(3)]
    images = np.stack([model.imaging.image(s, FOCUS).numpy() for s in structures])
    assert images.shape == (3, GRID, GRID, 3) and images.dtype == np.float32
    np.testing.assert_array_equal(model.predict_atoms(structures), model.predict(images))


def test_returns_float64_of_shape_n(model):
    one = model.predict_atoms(sheet(0))
    assert one.dtype == np.float64 and one.shape == (1,)
    several = model.predict_atoms(sheet(k) for k in range(4))  # any iterable
    assert several.dtype == np.float64 and several.shape == (4,)
    assert np.isfinite(several).all()


def test_a_list_of_mixed_cell_sizes(model):
    small, other = sheet(0), sheet(1)
    big = random_sheet((10, 6), 1, 0)[0]
    wide = random_sheet((15, 3), 1, 0)[0]
    mixed = model.predict_atoms([small, big, other, wide, small.repeat((2, 1, 1))])
    one_by_one = [model.predict_atoms(s)[0] for s in (small, big, other, wide, small.repeat((2, 1, 1)))]
    np.testing.assert_array_equal(mixed, one_by_one)
    np.testing.assert_allclose(mixed[4], 2 * mixed[0], rtol=1e-9)


def test_save_and_load_keep_imaging_and_predictions(model, tmp_path):
    path = ednn.save_model(model, tmp_path / "atoms.safetensors")
    loaded = ednn.load(path)
    assert loaded.imaging == model.imaging
    assert loaded.imaging.pixel_size == PIXEL and loaded.imaging.elements == (5, 6, 7)
    torch.testing.assert_close(loaded.target.offset_per_intensity, model.target.offset_per_intensity, rtol=0, atol=0)
    structures = [sheet(k) for k in range(3)] + [sheet(0).repeat((2, 2, 1))]
    np.testing.assert_array_equal(loaded.predict_atoms(structures), model.predict_atoms(structures))


def test_zero_network_leaves_per_element_reference_energies():
    """Σ over pixels of one atom's Gaussian is 2πγ²/(ΔxΔy) (pixel ≈ γ, so the sampling
    error is ~e^(−2π²γ²/Δ²) ≈ 1e-9; the truncation at 1e-6 of the peak and float32 pixels
    leave ~1e-7): each atom of element e then adds μ_e = offset_per_intensity[0, e] · 2πγ²/(ΔxΔy)."""
    model = atom_model(seed=1)
    with torch.no_grad():
        model.net.head[-1].weight.zero_()
        model.net.head[-1].bias.zero_()
    per_atom = model.target.offset_per_intensity[0].numpy() * 2 * math.pi * GAMMA**2 / (PIXEL[0] * PIXEL[1])
    structures = [sheet(k) for k in range(6)] + [random_sheet((10, 6), 1, 3)[0]]
    counts = np.array([[np.sum(s.numbers == z) for z in (5, 6, 7)] for s in structures])
    np.testing.assert_allclose(model.predict_atoms(structures), counts @ per_atom, rtol=1e-6)


# ---- bad input --------------------------------------------------------------------------


def check_refused(model, atoms, *fragments):
    with pytest.raises(EDNNError) as excinfo:
        model.predict_atoms(atoms)
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_non_rectangular_cell(model):
    atoms = sheet(0)
    cell = atoms.cell.array.copy()
    cell[1, 0] = 2.0  # b tilted towards x
    atoms.set_cell(cell)
    check_refused(model, atoms, "rectangular")


def test_tilted_c_vector_is_named_in_the_message(model):
    atoms = sheet(0)
    atoms.set_cell([[CELL[0], 0, 0], [0, CELL[1], 0], [1.0, 0, 20.0]])
    check_refused(model, atoms, "c = ")


def test_cell_that_is_not_whole_focus_regions_names_the_nearest_valid_cell(model):
    atoms = sheet(0)
    atoms.set_cell([12.4, CELL[1], 20.0])
    message = check_refused(model, atoms, "12.400000", "nearest valid cell 12.500000 × 12.990381 Å")
    assert "focus" in message
    tiny = sheet(0)
    tiny.set_cell([1.0, CELL[1], 20.0])  # less than one focus region
    check_refused(model, tiny, "nearest valid cell 3.125000 × 12.990381 Å")


def test_unknown_element(model):
    atoms = sheet(0)
    atoms.numbers[5] = 14
    check_refused(model, atoms, "element Si is unknown", "B, C, N")
    atoms.numbers[6] = 8
    check_refused(model, atoms, "elements O, Si are unknown")


def test_buckled_sheet_and_bilayer_are_refused(model):
    buckled = sheet(0)
    buckled.positions[::2, 2] += 1.5
    check_refused(model, buckled, "1.50 Å along z", "z within 0.10 Å")
    bilayer = sheet(0) + sheet(0)
    bilayer.positions[60:, 2] += 3.35
    check_refused(model, bilayer, "3.35 Å along z")


def test_the_z_spread_limit_comes_from_the_training_structures():
    from ednn.atoms.images import PLANAR_TOLERANCE, z_spread_limit

    rippled = sheet(0)
    rippled.positions[::2, 2] += 0.4
    assert z_spread_limit([sheet(0), sheet(1)]) == PLANAR_TOLERANCE
    assert z_spread_limit([sheet(0), rippled]) == pytest.approx(0.6)
    imaging = AtomImaging(pixel_size=PIXEL, elements=(5, 6, 7), max_z_spread=0.6)
    assert imaging.grid_shape(rippled, FOCUS) == (GRID, GRID)
    config = imaging.to_dict()
    assert AtomImaging.from_dict(config).max_z_spread == 0.6
    del config["max_z_spread"]  # models saved before the limit was recorded
    assert AtomImaging.from_dict(config).max_z_spread == PLANAR_TOLERANCE


def test_many_atoms_on_one_spot_are_refused_in_linear_memory(model):
    crowded = sheet(0)
    crowded.positions[:, :2] = 1.0
    crowded = crowded.repeat((1, 1, 400))  # 20 000+ atoms on one spot: 10⁸ close pairs
    crowded.positions[:, 2] = 10.0
    crowded.cell[2, 2] = 20.0
    check_refused(model, crowded, "0.000 Å apart")


def test_a_flat_sheet_across_the_periodic_z_boundary_is_flat(model):
    atoms = sheet(0)
    atoms.positions[:, 2] = 0.0
    atoms.positions[::3, 2] = -0.02  # wraps to just below the top of the cell
    rippled = sheet(0)
    rippled.positions[:, 2] = 0.0
    rippled.positions[::3, 2] = 0.05
    assert np.isfinite(model.predict_atoms([atoms, rippled])).all()


def test_duplicated_and_overlapping_atoms_are_refused(model):
    duplicated = sheet(0)
    duplicated.append(duplicated[7])
    check_refused(model, duplicated, f"atoms 7 and {len(duplicated) - 1} are 0.000 Å apart", "duplicated")
    close = sheet(0)
    close.positions[3, :2] = close.positions[4, :2] + [0.05, 0.0]
    check_refused(model, close, "0.050 Å apart")
    across = sheet(0)  # two atoms 0.2 Å apart across the periodic x boundary
    across.positions[0, :2] = [0.1, 5.0]
    across.positions[1, :2] = [CELL[0] - 0.1, 5.0]
    check_refused(model, across, "0.200 Å apart")


def test_nan_position(model):
    atoms = sheet(0)
    atoms.positions[3, 1] = np.nan
    check_refused(model, atoms, "NaN")


def test_empty_structure_and_empty_list(model):
    check_refused(model, Atoms(cell=[*CELL, 20.0], pbc=True), "no atoms")
    check_refused(model, [], "no structures")


def test_something_other_than_atoms(model):
    check_refused(model, [sheet(0), (sheet(1), "graphene")], "takes ase.Atoms (one or a list), got a tuple")


def test_non_periodic_structure(model):
    atoms = sheet(0)
    atoms.pbc = [True, False, True]
    check_refused(model, atoms, "periodic")


def test_one_bad_structure_in_a_list_is_reported(model):
    bad = sheet(1)
    bad.numbers[0] = 8
    check_refused(model, [sheet(0), bad], "structure 1: element O is unknown")


def test_grid_model_has_no_predict_atoms():
    grid_model = EDNN(build_net("dense", tile=4, hidden=[8]), 2, 1)
    check_refused(grid_model, sheet(0), "grids", "predict()")


def test_paper_geometry_is_available_by_configuration():
    """The paper's hexagonal-sheet model: 256×256 pixels for the 60-site cell, f=64, c=32,
    its 13-convolution CNN, one Z-weighted channel; it predicts and stays extensive."""
    torch.manual_seed(0)
    imaging = AtomImaging(pixel_size=(CELL[0] / 256, CELL[1] / 256), elements=(5, 6, 7), per_element=False)
    model = AtomEDNN(build_net("paper_cnn", tile=64 + 2 * 32, channels=1), 64, 32, channels=1, imaging=imaging).eval()
    atoms = sheet(0)
    single = model.predict_atoms(atoms)[0]
    assert model.imaging.grid_shape(atoms, model.focus) == (256, 256)
    assert model.predict_atoms(atoms.repeat((2, 1, 1)))[0] == pytest.approx(2 * single, rel=1e-6)


def test_placements_average_translated_copies(model):
    from ednn.atoms.model import placement_shifts

    structures = [sheet(index) for index in range(3)]
    region = np.asarray(PIXEL) * FOCUS
    shifts = placement_shifts(5)
    assert np.all((shifts >= 0) & (shifts < 1)) and len(np.unique(shifts[:, 1])) == 5 and not shifts[0].any()
    explicit = []
    for shift in shifts * region:
        moved = [s.copy() for s in structures]
        for atoms in moved:
            atoms.positions[:, :2] += shift
        explicit.append(model.predict_atoms(moved))
    np.testing.assert_allclose(model.predict_atoms(structures, placements=5), np.mean(explicit, axis=0), rtol=1e-12)
    assert np.ptp(explicit, axis=0).max() > 1e-4  # the copies do differ: the average is no no-op
    whole = structures[0].copy()
    whole.positions[:, :2] += region * [2, 3]  # whole focus regions: the same tiles
    assert model.predict_atoms(whole)[0] == pytest.approx(model.predict_atoms(structures[0])[0], rel=1e-9)
    for wrong in (0, 2.5, True):
        with pytest.raises(EDNNError, match="placements must be a whole number"):
            model.predict_atoms(structures, placements=wrong)


def test_contributions_of_a_structure_go_through_its_image(model):
    atoms = sheet(0)
    check = pytest.raises(EDNNError, match="contributions takes grids; for a structure pass its image")
    with check:
        model.contributions(atoms)
    regions = model.contributions(model.imaging.image(atoms, model.focus)[None])
    assert regions.shape == (1, GRID // FOCUS, GRID // FOCUS)
    assert regions.sum() == pytest.approx(model.predict_atoms(atoms)[0], rel=1e-9)
