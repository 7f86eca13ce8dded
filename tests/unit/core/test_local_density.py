"""The local-density tile network: whole-grid evaluation equals tile-by-tile evaluation,
it stays extensive, and its data-dependent start lets training fit a local target."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_tile_net
from ednn.core.tiling import pad
from ednn.testing import assert_extensive


def make(focus, context, ndim=2, channels=1, padding="periodic", widths=(4, 8), hidden=8):
    torch.manual_seed(0)
    net = build_tile_net("local_density", focus, context, ndim=ndim, channels=channels, widths=widths, hidden=hidden)
    return EDNN(net, focus, context, ndim=ndim, channels=channels, padding=padding).eval()


@settings(max_examples=20, deadline=None)
@given(
    st.sampled_from([4, 8, 12]),
    st.sampled_from([0, 4, 8]),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from(["periodic", "zeros"]),
    st.integers(0, 2**31 - 1),
)
def test_whole_grid_density_equals_explicit_tiles(focus, context, nx, ny, channels, padding, seed):
    assume(context <= min(nx, ny) * focus)
    model = make(focus, context, channels=channels, padding=padding)
    x = torch.as_tensor(np.random.default_rng(seed).random((2, channels, nx * focus, ny * focus)), dtype=torch.float32)
    tiles = model.tiles(x)  # (N, nx, ny, C, t, t): explicit slices of the padded grid
    with torch.no_grad():
        explicit = model.net(tiles.reshape(-1, channels, *tiles.shape[-2:])).view(2, nx, ny, 1)
        whole = model.tile_outputs(x)
    torch.testing.assert_close(whole, explicit, rtol=1e-5, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(
    st.integers(1, 3),
    st.sampled_from([4, 8]),
    st.sampled_from([0, 4, 12, 24]),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_wrapped_convolutions_equal_the_periodically_padded_grid(ndim, focus, context, n, seed):
    """The periodic evaluation (each 3×3 convolution wrapping around) gives the padded
    grid's density and gradients — also when the context is wider than the grid."""
    model = make(focus, context, ndim=ndim, channels=2)
    torch.nn.init.normal_(model.net.layers[-1].weight)  # a non-trivial output layer
    x = torch.as_tensor(np.random.default_rng(seed).random((2, 2, *[n * focus] * ndim)), dtype=torch.float32)
    x.requires_grad_(True)
    padded = model.net.density(pad(x, context))
    (grad_padded,) = torch.autograd.grad(padded.square().sum(), x)
    wrapped = model.net.periodic_density(x)
    (grad_wrapped,) = torch.autograd.grad(wrapped.square().sum(), x)
    assert wrapped.abs().max() > 0
    torch.testing.assert_close(wrapped, padded, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_wrapped, grad_padded, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("ndim, focus, context", [(1, 4, 4), (2, 4, 8), (3, 4, 4)])
def test_local_density_models_are_extensive(ndim, focus, context):
    assert_extensive(make(focus, context, ndim=ndim))


def test_focus_and_context_must_be_multiples_of_four():
    with pytest.raises(EDNNError, match="multiples of 4"):
        build_tile_net("local_density", 16, 6)
    with pytest.raises(EDNNError, match="two widths"):
        build_tile_net("local_density", 16, 8, widths=[8, 16, 32])


def test_initialise_starts_at_the_offsets_with_normalised_features():
    model = make(8, 8)
    x = torch.rand(6, 1, 32, 32)
    model.net.initialise(pad(x, 8))
    assert torch.equal(model(x), torch.zeros(6, 1))
    first = model.net.layers[1](model.net.layers[0](pad(x, 8)))  # after the first convolution and SiLU
    assert first.isfinite().all() and 0.05 < first.std().item() < 5


def test_training_fits_a_local_count(tmp_path):
    """Target: the number of bright pixels with a bright right neighbour — local, extensive."""
    from ednn.train.fit import GridSet, fit, fit_target_scaling

    rng = np.random.default_rng(0)
    x = (rng.random((3000, 8, 8)) < 0.3).astype(np.float32)
    y = (x * np.roll(x, -1, axis=2)).sum((1, 2))
    model = make(4, 4, widths=(8, 16), hidden=16).train()
    train, val = GridSet.from_numpy(model, x[:2500], y[:2500]), GridSet.from_numpy(model, x[2500:], y[2500:])
    fit_target_scaling(model, train)
    fit(model, train, val, tmp_path, epochs=20, batch_size=50, lr=3e-3, lr_min=1e-4, progress=False)
    error = np.abs(model.predict(x[2500:]) - y[2500:])
    assert np.median(error) < 0.3 * y.std()  # the mean alone: ≈ 0.67 std


def test_saved_and_loaded_local_density_model_predicts_the_same(tmp_path):
    from ednn.io.model_file import load, save_model

    model = make(4, 8)
    model.net.initialise(pad(torch.rand(3, 1, 16, 16), 8))
    torch.nn.init.normal_(model.net.layers[-1].weight)
    save_model(model, tmp_path / "m.safetensors")
    x = np.random.default_rng(0).random((2, 16, 12))
    np.testing.assert_array_equal(load(tmp_path / "m.safetensors").predict(x), model.predict(x))


def test_predict_in_padded_bands_equals_the_wrapped_whole_grid(monkeypatch):
    """A grid too large for one chunk goes through padded bands of tile rows; small grids
    through the wrapped evaluation: the same totals and tile contributions."""
    import ednn.core.model

    model = make(4, 8, channels=2)
    torch.nn.init.normal_(model.net.layers[-1].weight)
    x = np.random.default_rng(3).random((2, 24, 16, 2))
    whole, tiles = model.predict(x), model.contributions(x)
    monkeypatch.setattr(ednn.core.model, "PREDICT_CHUNK_PIXELS", 2 * 16 * 8)  # 8 focus regions: bands of two rows
    np.testing.assert_allclose(model.predict(x), whole, rtol=1e-6)
    np.testing.assert_allclose(model.contributions(x), tiles, rtol=1e-5, atol=1e-6)
