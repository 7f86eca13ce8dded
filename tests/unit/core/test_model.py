import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ednn.core.model
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net
from ednn.testing import assert_extensive


def make(ndim=2, focus=1, context=1, channels=1, net="dense", **options):
    torch.manual_seed(0)
    tile_net = build_net(net, tile=focus + 2 * context, ndim=ndim, channels=channels, **options)
    return EDNN(tile_net, focus, context, ndim=ndim, channels=channels, scale=3.0, offset_per_site=-0.5).eval()


def test_any_user_network_is_evaluated_on_tile_copies_and_equals_a_loop_over_tiles():
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 1))
    model = EDNN(net, 1, 1, scale=2.0, offset_per_site=0.25)
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(2, 4, 4))
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="wrap")
    with torch.no_grad():
        loop = [
            sum(
                net(torch.tensor(padded[n, i : i + 3, j : j + 3], dtype=torch.float32)[None, None]).item()
                for i in range(4)
                for j in range(4)
            )
            for n in range(2)
        ]
    np.testing.assert_allclose(model.predict(x), 2.0 * np.array(loop) + 0.25 * 16, rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2**31 - 1))
def test_sum_invariant_under_periodic_shifts_by_whole_tiles(a, b, seed):
    model = make(focus=2, context=1, hidden=[8])
    x = np.random.default_rng(seed).choice([-1, 1], size=(2, 8, 8))
    shifted = np.roll(x, (2 * a, 2 * b), axis=(1, 2))
    np.testing.assert_allclose(model.predict(shifted), model.predict(x), rtol=1e-10)


def test_contributions_sum_to_the_prediction_and_carry_the_offset():
    model = make(focus=2, context=1, hidden=[8])
    x = np.random.default_rng(0).choice([-1, 1], size=(3, 8, 6))
    tiles = model.contributions(x)
    assert tiles.shape == (3, 4, 3) and tiles.dtype == np.float64
    np.testing.assert_allclose(tiles.sum((1, 2)), model.predict(x), rtol=1e-12)


def test_predict_in_bands_equals_predict_at_once(monkeypatch):
    model = make(hidden=[8])
    x = np.random.default_rng(1).choice([-1, 1], size=(2, 24, 16))
    whole = model.predict(x)
    monkeypatch.setattr(ednn.core.model, "PREDICT_CHUNK_PIXELS", 9 * 20)  # 20 tiles at a time: bands of one row
    np.testing.assert_allclose(model.predict(x), whole, rtol=1e-7)  # float32 matmul blocking


def test_channels_last_input_and_multiple_outputs():
    torch.manual_seed(0)
    model = EDNN(build_net("dense", tile=3, channels=2, outputs=2, hidden=[8]), 1, 1, channels=2, outputs=2)
    y = model.predict(np.zeros((5, 4, 4, 2)))
    assert y.shape == (5, 2) and y.dtype == np.float64


def test_cnns_map_tiles_to_scalars():
    for name in ("paper_cnn", "lean_cnn"):
        model = make(focus=8, context=4, net=name)
        assert model.predict(np.zeros((2, 16, 16))).shape == (2,)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((2, 5, 4)), "not a whole number of focus regions"),
        (np.zeros((2, 4, 4, 3)), r"shape \(2, 4, 4, 3\); this 2-D model with 1 channel expects \(N, L1, L2, 1\)"),
        (np.zeros((4, 4)), "expects"),
        (np.full((1, 4, 4), np.nan), "NaN"),
        (np.zeros((0, 4, 4)), "no examples"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_bad_input_is_a_one_line_error(bad, message):
    with pytest.raises(EDNNError, match=message) as info:
        make(focus=2, context=1, hidden=[8]).predict(bad)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("ndim, focus, context", [(1, 2, 3), (2, 1, 1), (2, 2, 2), (3, 1, 1)])
def test_assert_extensive_holds_for_periodic_models(ndim, focus, context):
    assert_extensive(make(ndim, focus, context, hidden=[8]))


def test_assert_extensive_catches_a_non_extensive_model():
    class Biased(EDNN):
        def predict(self, x):
            return super().predict(x) + 1.0

    torch.manual_seed(0)
    model = Biased(build_net("dense", tile=3, hidden=[4]), 1, 1)
    with pytest.raises(AssertionError, match="not extensive"):
        assert_extensive(model)
