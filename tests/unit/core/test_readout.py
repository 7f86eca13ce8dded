"""Charge equilibration as an EDNN readout: the closed form is the constrained minimum, the
model stays extensive, every evaluation path (sum, tile shares, streaming blocks, forces,
saved file, local updates) gives the same total, and what cannot follow a coupled total refuses."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ednn
from ednn.atoms.bins import AtomBins
from ednn.atoms.blocks import stream_energy
from ednn.atoms.images import AtomImaging
from ednn.atoms.model import AtomEDNN
from ednn.core.errors import EDNNError
from ednn.core.local import LocalTileEnergy
from ednn.core.model import EDNN
from ednn.core.nets import build_tile_net
from ednn.core.readout import ChargeEquilibration, make_readout
from ednn.io.model_file import save_model
from ednn.systems.ising.tile_energy import tile_table
from ednn.systems.sheets import honeycomb, random_sheet
from ednn.testing import assert_extensive

CELL = honeycomb((5, 3))[0].cell.lengths()[:2]


def qeq_model(net="local_density", focus=8, context=8, imaging=True, seed=0):
    torch.manual_seed(seed)
    channels = 3 if imaging else 1
    options = dict(widths=(4, 8), hidden=8) if net == "local_density" else {}
    tile_net = build_tile_net(net, focus, context, ndim=2, channels=channels, outputs=3, **options)
    atoms = AtomImaging(pixel_size=tuple(CELL / 32), elements=(5, 6, 7)).to_dict() if imaging else None
    options = dict(channels=channels, readout="qeq", scale=0.5)
    model = (
        AtomEDNN(tile_net, focus, context, imaging=atoms, **options)
        if imaging
        else EDNN(tile_net, focus, context, **options)
    )
    with torch.no_grad():
        for p in model.net.parameters():  # sizeable χ spread, so the coupling matters
            p.mul_(4.0)
    return model.eval()


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 12), st.integers(0, 2**31 - 1))
def test_closed_form_is_the_minimum_over_neutral_charges(sites, seed):
    """E = Σe + min_q Σ(χ q + q²/2w) subject to Σq = 0, solved as a linear system."""
    rng = np.random.default_rng(seed)
    e, chi, w = rng.normal(size=sites), rng.normal(size=sites), rng.uniform(0.1, 3.0, sites)
    kkt = np.zeros((sites + 1, sites + 1))
    kkt[:sites, :sites] = np.diag(1 / w)
    kkt[:sites, sites] = kkt[sites, :sites] = 1.0
    q = np.linalg.solve(kkt, np.concatenate([-chi, [0.0]]))[:sites]
    expected = e.sum() + np.sum(chi * q + q * q / (2 * w))
    readout = ChargeEquilibration()
    raw = torch.tensor(np.stack([e, chi, np.log(np.expm1(w))], -1))
    total = readout(readout.site_terms(raw).sum(0, keepdim=True))
    assert total.item() == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("net", ["local_density", "dense"])
def test_charge_equilibrated_models_are_extensive(net):
    assert_extensive(qeq_model(net, 4, 4, imaging=False), k=3)


def test_the_coupling_is_not_a_sum_of_local_terms():
    """Changing a pixel far away changes the energy a tile contributes — unlike a plain EDNN."""
    model = qeq_model(imaging=False)
    x = np.random.default_rng(1).random((1, 32, 32))
    far = x.copy()
    far[0, 20:24, 20:24] += 1.0
    near, moved = model.contributions(x), model.contributions(far)
    assert abs(near[0, 0, 0] - moved[0, 0, 0]) > 1e-6  # tile (0, 0) does not see pixels 20..24


def test_tile_shares_sum_to_the_prediction_and_training_sum():
    model = qeq_model(imaging=False)
    x = np.random.default_rng(2).random((3, 24, 32))
    shares = model.contributions(x)
    np.testing.assert_allclose(shares.sum((1, 2)), model.predict(x), rtol=1e-9)
    with torch.no_grad():
        scaled = model(torch.as_tensor(x, dtype=torch.float32)[:, None])
    np.testing.assert_allclose(model.target.to_physical(scaled, 24 * 32).numpy()[:, 0], model.predict(x), rtol=1e-5)


def test_predict_in_padded_bands_equals_the_wrapped_whole_grid(monkeypatch):
    """The four sums gathered band by band give the totals and shares of the wrapped grid."""
    import ednn.core.model

    model = qeq_model(imaging=False)
    x = np.random.default_rng(4).random((2, 32, 24))
    whole, shares = model.predict(x), model.contributions(x)
    monkeypatch.setattr(ednn.core.model, "PREDICT_CHUNK_PIXELS", 4 * 8 * 8)  # 4 focus regions: bands of one row
    np.testing.assert_allclose(model.predict(x), whole, rtol=1e-6)
    np.testing.assert_allclose(model.contributions(x), shares, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def sheet():
    return random_sheet((5, 3), 4, 3)[0].repeat((3, 2, 1))


def test_streamed_blocks_equal_the_whole_image(sheet):
    model = qeq_model()
    whole = model.predict_atoms(sheet)[0]
    streamed = stream_energy(model, AtomBins.from_atoms(sheet), block_pixels=16)
    assert streamed == pytest.approx(whole, rel=1e-7)  # float32 network on blocks vs the whole


def test_forces_match_finite_differences(sheet):
    calculator = qeq_model().calculator("float64")
    atoms = sheet.copy()
    atoms.calc = calculator
    forces = atoms.get_forces()
    step = 1e-4
    for index, axis in [(0, 0), (17, 1), (40, 0)]:
        moved = []
        for sign in (1, -1):
            shifted = sheet.copy()
            shifted.positions[index, axis] += sign * step
            shifted.calc = calculator
            moved.append(shifted.get_potential_energy())
        assert forces[index, axis] == pytest.approx(-(moved[0] - moved[1]) / (2 * step), rel=1e-5, abs=1e-7)


def test_a_saved_model_keeps_its_readout(sheet, tmp_path):
    model = qeq_model()
    loaded = ednn.load(save_model(model, tmp_path / "q.safetensors"))
    assert loaded.target.readout.name == "qeq" and loaded.target.sums == 4
    assert loaded.predict_atoms(sheet)[0] == model.predict_atoms(sheet)[0]


@pytest.mark.parametrize("net", ["local_density", "dense"])
def test_explicit_tiles_give_the_whole_grid_terms(net):
    model = qeq_model(net, 4, 4, imaging=False)
    x = torch.rand(2, 1, 12, 16)
    tiles = model.tiles(x)
    with torch.no_grad():
        explicit = model.tile_terms(tiles.reshape(-1, 1, *tiles.shape[-2:])).view(2, 3, 4, 4)
        torch.testing.assert_close(model.tile_outputs(x), explicit, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("net", ["local_density", "dense"])
def test_local_updates_follow_the_coupled_total(net):
    """Box changes anywhere move every tile's share (the chemical potential moves), yet the
    running total from the kept sums equals a full evaluation after each accepted change."""
    model = qeq_model(net, 4, 4, imaging=False)
    rng = np.random.default_rng(3)
    energy = LocalTileEnergy(model, torch.as_tensor(rng.random((3, 16, 20, 1))))
    for _ in range(12):
        chains = torch.as_tensor(rng.permutation(3)[:2])
        corners = torch.as_tensor(rng.integers(-10, 30, (2, 2)))
        proposal = energy.propose(chains, corners, torch.as_tensor(rng.random((2, 1, 3, 2)) * 2))
        energy.accept(proposal, torch.as_tensor(rng.random(2) < 0.7))
        grids = energy.grids.movedim(1, -1).numpy()
        # float32 networks on a window and on the whole grid round differently: ~1e-8 relative
        np.testing.assert_allclose(energy.totals.numpy(), model.predict(grids), rtol=1e-6, atol=1e-9)


def test_what_needs_a_plain_sum_refuses():
    with pytest.raises(EDNNError, match="readout"):
        tile_table(qeq_model("dense", 1, 1, imaging=False))
    with pytest.raises(EDNNError, match="unknown readout"):
        make_readout("ewald")
    with pytest.raises(EDNNError, match="one output"):
        EDNN(build_tile_net("dense", 1, 1, outputs=3), 1, 1, outputs=2, readout="qeq")
