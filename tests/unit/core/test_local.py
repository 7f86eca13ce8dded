"""Local updates: the running total of LocalTileEnergy equals a full evaluation."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ednn
from ednn.core.errors import EDNNError
from ednn.core.local import LocalTileEnergy
from ednn.core.model import EDNN
from ednn.core.nets import build_net

ISING = "models/ising-8x8-f1c1.safetensors"


def small_model(focus, context, channels, seed=0):
    torch.manual_seed(seed)
    model = EDNN(
        build_net("dense", tile=focus + 2 * context, channels=channels, hidden=[8]),
        focus,
        context,
        channels=channels,
        scale=3.0,
        offset_per_site=0.1,
    )
    with torch.no_grad():
        model.target.offset_per_intensity.copy_(torch.linspace(-1, 1, channels)[None])
    return model.eval()


def test_ten_thousand_accepted_spin_flips_on_64x64_keep_the_total_exact():
    model = ednn.load(ISING)
    rng = np.random.default_rng(0)
    chains, size = 16, 64
    energy = LocalTileEnergy(model, torch.as_tensor(rng.choice([-1.0, 1.0], (chains, size, size, 1))))
    rows, accepted = torch.arange(chains), 0
    while accepted < 10_000:
        corners = torch.as_tensor(rng.integers(0, size, (chains, 2)))
        spins = energy.values(rows, corners, (1, 1))
        proposal = energy.propose(rows, corners, -spins)
        keep = torch.as_tensor(rng.random(chains) < np.exp(-proposal.delta.numpy() / 4.0))
        energy.accept(proposal, keep)
        accepted += int(keep.sum())
    grids = energy.grids.movedim(1, -1).numpy()
    np.testing.assert_allclose(energy.totals.numpy(), model.predict(grids), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(energy.totals.numpy(), energy.recompute().numpy(), rtol=1e-12, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    focus=st.integers(1, 3),
    context=st.integers(0, 3),
    regions=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    channels=st.integers(1, 2),
    seed=st.integers(0, 2**16),
)
def test_box_changes_anywhere_match_a_full_evaluation(focus, context, regions, channels, seed):
    shape = (regions[0] * focus, regions[1] * focus)
    context = min(context, *shape)
    model = small_model(focus, context, channels, seed)
    rng = np.random.default_rng(seed)
    energy = LocalTileEnergy(model, torch.as_tensor(rng.normal(size=(3, *shape, channels))))
    for _ in range(5):
        box = tuple(int(rng.integers(1, s + 1)) for s in shape)
        chains = torch.as_tensor(rng.permutation(3)[:2])
        corners = torch.as_tensor(rng.integers(-20, 20, (2, 2)))
        proposal = energy.propose(chains, corners, torch.as_tensor(rng.normal(size=(2, channels, *box))))
        before = energy.totals.clone()
        energy.accept(proposal, torch.tensor([True, False]))
        full = energy.recompute()
        np.testing.assert_allclose(energy.totals.numpy(), full.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(full[chains[0]] - before[chains[0]], proposal.delta[0], rtol=1e-6, atol=1e-6)
        assert energy.totals[chains[1]] == before[chains[1]]


def test_bad_input_is_refused():
    model = small_model(2, 1, 1)
    energy = LocalTileEnergy(model, torch.zeros(2, 4, 4, 1))
    with pytest.raises(EDNNError, match="one proposal per chain"):
        energy.propose(torch.tensor([0, 0]), torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 1, 1, 1))
    with pytest.raises(EDNNError, match="larger than the grid"):
        energy.propose(torch.tensor([0]), torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 1, 5, 1))
    with pytest.raises(EDNNError, match="NaN"):
        LocalTileEnergy(model, torch.full((1, 4, 4, 1), float("nan")))
    with pytest.raises(EDNNError, match="whole number|multiple|focus"):
        LocalTileEnergy(model, torch.zeros(1, 5, 4, 1))
    with pytest.raises(EDNNError, match="expected"):
        LocalTileEnergy(model, torch.zeros(1, 4, 4, 2))


def test_box_changes_with_a_local_density_network_match_a_full_evaluation():
    """The density network's whole-grid path (predict) and the tile path (local updates) agree."""
    from ednn.core.nets import build_tile_net

    torch.manual_seed(0)
    model = EDNN(build_tile_net("local_density", 4, 8, channels=2, widths=[4, 8], hidden=8), 4, 8, channels=2).eval()
    torch.nn.init.normal_(model.net.layers[-1].weight)
    rng = np.random.default_rng(0)
    energy = LocalTileEnergy(model, torch.as_tensor(rng.random((2, 16, 12, 2))))
    for _ in range(10):
        corners = torch.as_tensor(rng.integers(0, 16, (2, 2)))
        proposal = energy.propose(torch.arange(2), corners, torch.as_tensor(rng.random((2, 2, 3, 2))))
        energy.accept(proposal, torch.tensor([True, True]))
    grids = energy.grids.movedim(1, -1).numpy()
    np.testing.assert_allclose(energy.totals.numpy(), model.predict(grids), rtol=1e-5)
