"""Blur resilience: exact when unblurred, regions of the stated areas, a focus-only network blind to context blur."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from ednn.analysis.blur import blur_mask, blurred_totals, blurred_totals_of_masks, shell_order
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import DenseTileNet, LocalDensityNet

FOCUS, CONTEXT = 4, 2  # tiles of 8 × 8 pixels, focus 4 × 4


def dense_model(seed: int = 0, focus_only: bool = False) -> EDNN:
    """A random dense EDNN of two channels; `focus_only`: its first layer reads the focus pixels only."""
    torch.manual_seed(seed)
    net = DenseTileNet(FOCUS + 2 * CONTEXT, channels=2, hidden=[16, 8], activation="silu")
    if focus_only:
        focus = np.zeros((FOCUS + 2 * CONTEXT,) * 2, bool)
        focus[CONTEXT:-CONTEXT, CONTEXT:-CONTEXT] = True
        with torch.no_grad():
            net[1].weight[:, ~torch.from_numpy(np.tile(focus.reshape(-1), 2))] = 0
    return EDNN(net, FOCUS, CONTEXT, channels=2, scale=3.0, offset_per_site=0.5)


def grids(n: int = 5, size: int = 12, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, size, size, 2)).astype(np.float32)


def test_no_blur_is_the_unblurred_prediction_exactly():
    model, x = dense_model(), grids()
    sharp = blurred_totals(model, x, "focus", 0.0, 3.0)
    for region in ("focus", "context"):
        for sigma in (0.0, 1e-9):
            assert np.array_equal(blurred_totals(model, x, region, 0.2, sigma), sharp)
    np.testing.assert_allclose(sharp, model.predict(x), rtol=1e-6)


def test_density_network_unblurred_matches_predict():
    torch.manual_seed(0)
    net = LocalDensityNet(4 + 2 * 4, channels=2, context=4, widths=(4, 8), hidden=8, gain=1.0)
    model = EDNN(net, 4, 4, channels=2)
    x = grids(size=8)
    np.testing.assert_allclose(blurred_totals(model, x, "context", 0.1, 0.0), model.predict(x), rtol=1e-5)
    assert not np.allclose(blurred_totals(model, x, "focus", 0.1, 2.0), model.predict(x), rtol=1e-5)


def test_blurring_every_pixel_of_every_tile_is_predicting_the_blurred_grid():
    model, x = dense_model(), np.random.default_rng(2).random((3, 12, 8, 2)).astype(np.float32)
    everywhere = np.ones((FOCUS + 2 * CONTEXT,) * 2, bool)
    totals = blurred_totals_of_masks(model, x, 1.5, [everywhere])[0, :, 0]
    blurred = ndimage.gaussian_filter(x, sigma=[0, 1.5, 1.5, 0], mode="wrap")
    np.testing.assert_allclose(totals, model.predict(blurred), rtol=1e-5)


@pytest.mark.parametrize("fraction", [0.0, 0.05, 0.1, 0.2, 0.25])
def test_regions_have_the_stated_area_and_do_not_overlap(fraction):
    edge = FOCUS + 2 * CONTEXT
    focus = blur_mask(FOCUS, CONTEXT, "focus", fraction)
    context = blur_mask(FOCUS, CONTEXT, "context", fraction)
    assert focus.sum() == context.sum() == round(fraction * edge**2)
    assert not (focus & context).any()
    inner = np.zeros((edge, edge), bool)
    inner[CONTEXT:-CONTEXT, CONTEXT:-CONTEXT] = True
    assert not (focus & ~inner).any() and not (context & inner).any()


def test_whole_regions_cover_the_tile_and_shells_grow_from_the_centre():
    edge = FOCUS + 2 * CONTEXT
    focus = blur_mask(FOCUS, CONTEXT, "focus", FOCUS**2 / edge**2)
    context = blur_mask(FOCUS, CONTEXT, "context", 1 - FOCUS**2 / edge**2)
    assert (focus ^ context).all()
    assert blur_mask(FOCUS, CONTEXT, "focus", 4 / edge**2)[3:5, 3:5].all()  # the four central pixels first
    assert blur_mask(FOCUS, CONTEXT, "context", 4 / edge**2)[[0, 0, -1, -1], [0, -1, 0, -1]].all()  # corners first
    assert sorted(shell_order(FOCUS, CONTEXT)) == list(range(edge**2))


def test_a_network_blind_to_its_context_ignores_context_blur_only():
    model, x = dense_model(focus_only=True), grids()
    sharp = model.predict(x)
    whole_context = 1 - FOCUS**2 / (FOCUS + 2 * CONTEXT) ** 2
    np.testing.assert_allclose(blurred_totals(model, x, "context", whole_context, 2.0), sharp, rtol=1e-6, atol=1e-6)
    assert np.abs(blurred_totals(model, x, "focus", 0.2, 2.0) - sharp).min() > 1e-4


def test_bad_inputs_are_refused():
    model, x = dense_model(), grids()
    with pytest.raises(EDNNError, match="exceeds the focus's 16"):
        blurred_totals(model, x, "focus", 0.3, 1.0)
    with pytest.raises(EDNNError, match="exceeds the context's 48"):
        blurred_totals(model, x, "context", 0.8, 1.0)
    with pytest.raises(EDNNError, match="'focus' or 'context'"):
        blurred_totals(model, x, "edge", 0.1, 1.0)
    with pytest.raises(EDNNError, match=r"\[0, 1\]"):
        blurred_totals(model, x, "focus", -0.1, 1.0)
    with pytest.raises(EDNNError, match="sigma"):
        blurred_totals(model, x, "focus", 0.1, -1.0)
    with pytest.raises(EDNNError, match="no context"):
        blurred_totals(EDNN(DenseTileNet(4, channels=2), 4, 0, channels=2), x, "focus", 0.1, 1.0)
    with pytest.raises(EDNNError, match="tiles are"):
        blurred_totals_of_masks(model, x, 1.0, [np.ones((4, 4), bool)])
    with pytest.raises(EDNNError, match="whole number of focus"):
        blurred_totals(model, grids(size=10), "focus", 0.1, 1.0)
