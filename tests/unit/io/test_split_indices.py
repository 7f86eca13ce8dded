"""split_indices: disjoint sorted parts covering range(n), of the requested sizes, fixed by the seed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ednn.core.errors import EDNNError
from ednn.io.splits import split_indices


@settings(max_examples=100, deadline=None)
@given(st.integers(10, 500), st.integers(0, 2**32 - 1), st.floats(0.0, 0.4), st.floats(0.0, 0.4))
def test_parts_are_disjoint_sorted_cover_everything_and_have_the_rounded_sizes(n, seed, val, test):
    n_test, n_val = int(round(n * test)), int(round(n * val))
    if n_test + n_val == n or (val > 0 and n_val == 0):  # no training part, or a validation part asked for
        with pytest.raises(EDNNError, match=f"{n} examples are too few"):  # that rounds to nothing
            split_indices(n, seed, val, test)
        return
    parts = split_indices(n, seed, val, test)
    assert set(parts) == {"train", "val", "test"}
    np.testing.assert_array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(n))
    for part in parts.values():
        assert np.all(np.diff(part) > 0)
    assert (len(parts["test"]), len(parts["val"])) == (n_test, n_val)
    again = split_indices(n, seed, val, test)
    for name in parts:
        np.testing.assert_array_equal(again[name], parts[name])


def test_the_test_part_is_the_first_of_a_seeded_permutation():
    order = np.random.default_rng(4).permutation(20)
    parts = split_indices(20, 4, 0.25, 0.1)
    np.testing.assert_array_equal(parts["test"], np.sort(order[:2]))
    np.testing.assert_array_equal(parts["val"], np.sort(order[2:7]))
    assert not np.array_equal(split_indices(20, 5, 0.25, 0.1)["test"], parts["test"])


@pytest.mark.parametrize(
    ("n", "val", "test", "message"),
    [
        (10, 0.6, 0.5, "sum to less than 1"),
        (10, -0.1, 0.1, "lie in \\[0, 1\\)"),
        (10, 0.1, 1.0, "lie in"),
        (2, 0.5, 0.5, "sum to less than 1"),
        (3, 0.1, 0.6, "3 examples are too few"),
        (1, 0.0, 0.6, "too few"),
    ],
)
def test_impossible_splits_are_refused(n, val, test, message):
    with pytest.raises(EDNNError, match=message):
        split_indices(n, 0, val, test)
