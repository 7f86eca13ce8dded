import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ednn.core.errors import EDNNError
from ednn.core.tiling import nearest_valid_sizes, pad, tile


@st.composite
def grids(draw):
    ndim = draw(st.integers(1, 3))
    focus = draw(st.integers(1, 3))
    context = draw(st.integers(0, 3))
    least = max(1, -(-context // focus))  # the context may not exceed the system size
    shape = [focus * draw(st.integers(least, least + 2)) for _ in range(ndim)]
    channels = draw(st.integers(1, 2))
    x = torch.arange(2 * channels * int(np.prod(shape)), dtype=torch.float32).reshape(2, channels, *shape)
    return x, focus, context


@settings(max_examples=60, deadline=None)
@given(grids())
def test_tiles_equal_explicit_periodic_slicing(case):
    x, f, c = case
    tiles = tile(x, f, c)
    shape = x.shape[2:]
    counts = [s // f for s in shape]
    assert tiles.shape == (2, *counts, x.shape[1], *[f + 2 * c] * len(shape))
    for index in itertools.product(*[range(n) for n in counts]):
        window = x
        for axis, i in enumerate(index):
            rows = torch.arange(i * f - c, i * f + f + c) % shape[axis]
            window = window.index_select(2 + axis, rows)
        assert torch.equal(tiles[(slice(None), *index)], window)


@settings(max_examples=60, deadline=None)
@given(grids())
def test_every_pixel_in_exactly_one_focus_region(case):
    x, f, c = case
    ndim = x.ndim - 2
    tiles = tile(x, f, c)
    focus = tiles[(Ellipsis, *[slice(c, c + f)] * ndim)]
    seen = np.sort(focus.reshape(-1).numpy())
    assert np.array_equal(seen, np.sort(x.reshape(-1).numpy()))


def test_zero_padding_puts_zeros_at_the_border():
    x = torch.ones(1, 1, 4, 4)
    tiles = tile(x, 2, 1, padding="zeros")
    assert tiles[0, 0, 0, 0, 0, 0] == 0 and tiles[0, 0, 0, 0, 1, 1] == 1
    assert torch.equal(pad(x, 1, "zeros").sum(), torch.tensor(16.0))


def test_periodic_padding_wraps():
    x = torch.arange(4.0).reshape(1, 1, 4)
    assert pad(x, 2).flatten().tolist() == [2, 3, 0, 1, 2, 3, 0, 1]


def test_size_not_a_whole_number_of_focus_regions_names_valid_sizes():
    with pytest.raises(EDNNError, match=r"size 10 along axis 1 .*f=4.*8 or 12"):
        tile(torch.zeros(1, 1, 8, 10), 4, 1)
    assert nearest_valid_sizes(3, 4) == (4,)


@pytest.mark.parametrize("focus, context, message", [(0, 1, "focus"), (1, -1, "context"), (1.5, 1, "focus")])
def test_bad_geometry(focus, context, message):
    with pytest.raises(EDNNError, match=message):
        tile(torch.zeros(1, 1, 4, 4), focus, context)


def test_context_larger_than_system():
    with pytest.raises(EDNNError, match="context 5 exceeds the system size 4"):
        tile(torch.zeros(1, 1, 4, 4), 2, 5)
