import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ednn.core.errors import EDNNError
from ednn.io.fingerprints import decode, encode, grid_fingerprints, overlap, structure_fingerprints
from ednn.systems.sheets import random_sheet


def sheets(n):
    return [random_sheet((5, 3), 0, k)[0] for k in range(n)]


def test_a_structure_is_known_by_content_to_a_tenth_of_a_milliangstrom():
    a, b = sheets(2)
    stored = a.copy()
    stored.positions = np.round(stored.positions, 4)  # as `--decimals 4` files hold it
    assert structure_fingerprints([a])[0] == structure_fingerprints([stored])[0]
    assert structure_fingerprints([a])[0] != structure_fingerprints([b])[0]
    moved = a.copy()
    moved.positions[3, 0] += 0.001
    assert structure_fingerprints([moved])[0] != structure_fingerprints([a])[0]
    other = a.copy()
    other.numbers[0] = 7 if other.numbers[0] != 7 else 5
    assert structure_fingerprints([other])[0] != structure_fingerprints([a])[0]


def test_grids_differ_by_value_and_by_shape():
    x = np.random.default_rng(0).choice([-1, 1], size=(4, 8, 8)).astype(np.int8)
    found = grid_fingerprints(x)
    assert len(set(found.tolist())) == 4
    np.testing.assert_array_equal(found, grid_fingerprints(x.astype(np.float64)))  # the value, not the dtype
    assert grid_fingerprints(x.reshape(4, 4, 16))[0] != found[0]
    assert overlap(grid_fingerprints(x[[1, 1, 3]]), found[:2]) == 2


@given(st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_encoding_round_trips_the_distinct_fingerprints(values):
    found = np.array(values, dtype=np.uint64)
    np.testing.assert_array_equal(decode(encode(found)), np.unique(found))


@pytest.mark.parametrize("text", ["not base64!", "AAAA"])
def test_damaged_text_is_an_error(text):
    with pytest.raises(EDNNError, match="damaged training fingerprints"):
        decode(text)
