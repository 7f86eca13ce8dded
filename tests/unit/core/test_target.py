import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ednn.core.target import Target


def target(readout=None, seed=0):
    rng = np.random.default_rng(seed)
    t = Target(1, 2, scale=rng.uniform(0.5, 3), offset_per_site=rng.normal(), readout=readout)
    t.offset_per_intensity.copy_(torch.tensor(rng.normal(size=(1, 2))))
    return t


def terms(t, n_tiles=6, seed=0):
    rng = np.random.default_rng(seed + 1)
    width = t.outputs if t.readout is None else t.readout.raw  # what the tile network gives per site
    raw = torch.tensor(rng.normal(size=(3, n_tiles, width)))
    return t.site_terms(raw, -1)


def test_total_is_scale_times_the_sum_plus_extensive_offsets_by_hand():
    t = target()
    sums = torch.tensor([[2.0], [-1.0]], dtype=torch.float64)
    intensity = torch.tensor([[1.0, 3.0], [0.0, 2.0]], dtype=torch.float64)
    expected = sums[:, 0] * t.scale + 10 * t.offset_per_site + intensity @ t.offset_per_intensity[0]
    torch.testing.assert_close(t.total(sums, 10, intensity)[:, 0], expected.double())


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([None, "qeq"]), st.integers(0, 1000))
def test_to_scaled_inverts_to_physical(readout, seed):
    t = target(readout, seed)
    totals = torch.tensor(np.random.default_rng(seed).normal(size=(4, 1)) * 100)
    intensity = torch.rand(4, 2, dtype=torch.float64)
    back = t.to_physical(t.to_scaled(totals, 7, intensity), 7, intensity)
    torch.testing.assert_close(back, totals, rtol=1e-6, atol=1e-4)  # scaled units are float32


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([None, "qeq"]), st.integers(0, 1000))
def test_tile_contributions_add_up_to_the_total(readout, seed):
    t = target(readout, seed)
    tile_terms = terms(t, seed=seed)
    region_intensity = torch.rand(3, 6, 2, dtype=torch.float64)
    per_tile = t.tile_contributions(tile_terms, 4, region_intensity)
    total = t.total(tile_terms.sum(1), 24, region_intensity.sum(1))
    torch.testing.assert_close(per_tile.sum(1), total, rtol=1e-10, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.sampled_from([None, "qeq"]), st.integers(0, 1000))
def test_change_equals_the_difference_of_two_totals(readout, seed):
    t = target(readout, seed)
    before, after = terms(t, seed=seed).sum(1), terms(t, seed=seed + 7).sum(1)
    intensity, new_intensity = torch.rand(3, 2, dtype=torch.float64), torch.rand(3, 2, dtype=torch.float64)
    change = t.change(before, after - before, intensity, new_intensity - intensity, 24)
    expected = (t.total(after, 24, new_intensity) - t.total(before, 24, intensity))[:, 0]
    torch.testing.assert_close(change, expected, rtol=1e-9, atol=1e-9)


def test_casting_a_model_casts_its_network_only_and_predictions_keep_float64_offsets():
    from ednn.core.model import EDNN
    from ednn.core.nets import build_net

    torch.manual_seed(0)
    model = EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, scale=2.0, offset_per_site=-1234.5678901234)
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(2, 4, 4))
    before = model.predict(x)
    model.double().float()  # a float32 offset would lose ~1e-4 of it
    assert model.target.offset_per_site.dtype == torch.float64
    assert model.target.offset_per_site.item() == -1234.5678901234
    np.testing.assert_array_equal(model.predict(x), before)
