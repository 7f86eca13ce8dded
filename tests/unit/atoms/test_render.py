import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ednn.atoms.render as render_module
from ednn.atoms.render import PEAK_TRUNCATION, render, stencil_halfwidth
from ednn.core.errors import EDNNError

ELEMENTS = (1, 5, 6, 7, 8, 14)


def brute_force(positions, numbers, lengths, px, py, gamma, elements=None, images=3):
    """V at global pixels px × py: every atom, every pixel, periodic images −images..images."""
    positions = np.asarray(positions, dtype=np.float64)[:, :2]
    numbers = np.asarray(numbers)
    lengths = np.asarray(lengths, dtype=np.float64)
    channels = [numbers.astype(np.float64)] if elements is None else [(numbers == e) * 1.0 for e in elements]
    out = np.zeros((len(px), len(py), len(channels)))
    for c, weights in enumerate(channels):
        for (x, y), w in zip(positions, weights):
            for a in range(-images, images + 1):
                for b in range(-images, images + 1):
                    dx = px[:, None] - x - a * lengths[0]
                    dy = py[None, :] - y - b * lengths[1]
                    out[:, :, c] += w * np.exp(-(dx**2 + dy**2) / (2 * gamma**2))
    return out


def pixel_centres(lengths, shape, origin=(0, 0), size=None):
    size = shape if size is None else size
    return [(np.arange(origin[a], origin[a] + size[a]) + 0.5) * lengths[a] / shape[a] for a in range(2)]


@st.composite
def structures(draw, max_atoms=6):
    lengths = (draw(st.floats(3, 8)), draw(st.floats(3, 8)))
    shape = (draw(st.integers(8, 40)), draw(st.integers(8, 40)))
    natoms = draw(st.integers(1, max_atoms))
    positions = np.zeros((natoms, 3))
    for i in range(natoms):
        for a in range(2):
            L, n = lengths[a], shape[a]
            positions[i, a] = draw(
                st.one_of(
                    st.floats(-L, 2 * L),  # outside the cell too
                    st.integers(-n, 2 * n).map(lambda k, d=L / n: k * d),  # on pixel edges
                    st.sampled_from([0.0, L, -1e-9, 1e-9, L - 1e-9, L + 1e-9]),  # at the cell's edges
                )
            )
        positions[i, 2] = draw(st.floats(-5, 5))
    numbers = np.array(draw(st.lists(st.sampled_from(ELEMENTS), min_size=natoms, max_size=natoms)))
    gamma = draw(st.one_of(st.just(0.2), st.floats(0.1, 0.5)))
    return positions, numbers, lengths, shape, gamma


@settings(max_examples=40, deadline=None)
@given(structures(), st.booleans())
def test_render_matches_brute_force_sum_over_images(case, per_element):
    positions, numbers, lengths, shape, gamma = case
    elements = ELEMENTS if per_element else None
    image = render(positions, numbers, lengths, shape, gamma=gamma, elements=elements).numpy()
    reference = brute_force(positions, numbers, lengths, *pixel_centres(lengths, shape), gamma, elements)
    assert image.shape == (*shape, len(ELEMENTS) if per_element else 1)
    total_weight = len(numbers) if per_element else numbers.sum()
    assert np.abs(image - reference).max() <= PEAK_TRUNCATION * total_weight


@settings(max_examples=60, deadline=None)
@given(structures(max_atoms=4), st.data())
def test_block_equals_wrapped_full_render(case, data):
    positions, numbers, lengths, shape, gamma = case
    origin = tuple(data.draw(st.integers(-2 * n, 2 * n)) for n in shape)
    size = tuple(data.draw(st.integers(1, 5 * n // 2)) for n in shape)
    elements = data.draw(st.sampled_from([None, ELEMENTS]))
    full = render(positions, numbers, lengths, shape, gamma=gamma, elements=elements).numpy()
    block = render(positions, numbers, lengths, shape, gamma=gamma, elements=elements, origin=origin, size=size).numpy()
    expected = full
    for a in range(2):
        expected = np.take(expected, np.arange(origin[a], origin[a] + size[a]), axis=a, mode="wrap")
    assert block.shape == expected.shape
    np.testing.assert_allclose(block, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", [(3, 30), (30, 31), (31, 29), (35, 36), (100, 7), (1, 1)])
@pytest.mark.parametrize("origin", [(0, 0), (-13, 38), (77, -5)])
def test_block_both_paths(origin, size):
    # 40 pixels of 0.2 Å, h = 5: blocks up to 30 pixels use one image per atom, wider ones the whole cell.
    rng = np.random.default_rng(1)
    lengths, shape = (8.0, 8.0), (40, 40)
    positions, numbers = rng.uniform(-8, 16, (200, 2)), rng.choice(ELEMENTS, 200)
    full = render(positions, numbers, lengths, shape).numpy()
    block = render(positions, numbers, lengths, shape, origin=origin, size=size).numpy()
    expected = np.take(
        np.take(full, np.arange(origin[0], origin[0] + size[0]), 0, mode="wrap"),
        np.arange(origin[1], origin[1] + size[1]),
        1,
        mode="wrap",
    )
    np.testing.assert_allclose(block, expected, rtol=0, atol=1e-12)


def test_block_of_a_huge_cell_needs_only_nearby_atoms():
    # 10^5 Å cell of 5·10^5 pixels per axis: rendering it whole would need 2 TB.
    lengths, shape = (1e5, 1e5), (500_000, 500_000)
    origin, size = (-7, 499_990), (16, 20)  # straddles the cell's corner
    rng = np.random.default_rng(2)
    near = np.column_stack([rng.uniform(-4, 3, 12), rng.uniform(1e5 - 4, 1e5 + 4, 12)])
    far = rng.uniform(10, 9e4, (5, 2))
    numbers = rng.choice(ELEMENTS, 17)
    block = render(np.vstack([near, far]), numbers, lengths, shape, origin=origin, size=size).numpy()
    only_near = render(near, numbers[:12], lengths, shape, origin=origin, size=size).numpy()
    np.testing.assert_array_equal(block, only_near)
    reference = brute_force(near, numbers[:12], lengths, *pixel_centres(lengths, shape, origin, size), 0.2, images=1)
    assert np.abs(block - reference).max() <= PEAK_TRUNCATION * numbers[:12].sum()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("elements", [None, (5, 6, 7)])
def test_gradient_matches_central_differences(seed, elements):
    rng = np.random.default_rng(seed)
    lengths, shape = (4.0, 5.0), (19, 26)
    x0 = rng.uniform(-2, 7, (4, 3))
    numbers = rng.choice([5, 6, 7], 4)
    probe = torch.from_numpy(rng.normal(size=(*shape, 3 if elements else 1)))
    origin, size = ((0, 0), None) if seed != 2 else ((-3, 4), (9, 8))
    if size is not None:
        probe = probe[: size[0], : size[1]]

    def f(x):
        return (render(x, numbers, lengths, shape, elements=elements, origin=origin, size=size) * probe).sum()

    x = torch.tensor(x0, requires_grad=True)
    (grad,) = torch.autograd.grad(f(x), x)
    eps = 1e-6
    numeric = np.zeros_like(x0)
    for i, a in np.ndindex(4, 2):
        step = np.zeros_like(x0)
        step[i, a] = eps
        numeric[i, a] = (f(torch.tensor(x0 + step)) - f(torch.tensor(x0 - step))).item() / (2 * eps)
    assert np.all(grad[:, 2].numpy() == 0)  # z is ignored
    scale = np.abs(numeric).max()
    assert scale > 0
    np.testing.assert_allclose(grad.numpy(), numeric, rtol=0, atol=1e-6 * scale)


@settings(max_examples=30, deadline=None)
@given(structures())
def test_element_channels_weighted_by_z_sum_to_z_image(case):
    positions, numbers, lengths, shape, gamma = case
    channels = render(positions, numbers, lengths, shape, gamma=gamma, elements=ELEMENTS)
    weighted = render(positions, numbers, lengths, shape, gamma=gamma)
    summed = (channels * torch.tensor(ELEMENTS, dtype=torch.float64)).sum(-1, keepdim=True)
    torch.testing.assert_close(summed, weighted, rtol=0, atol=1e-12)


@st.composite
def fine_grids(draw):
    gamma = draw(st.floats(0.15, 0.4))
    lengths = (draw(st.floats(3, 8)), draw(st.floats(3, 8)))
    shape = tuple(draw(st.integers(math.ceil(L / gamma), math.ceil(L / gamma) + 20)) for L in lengths)
    natoms = draw(st.integers(1, 5))
    positions = np.array([[draw(st.floats(-L, 2 * L)) for L in lengths] for _ in range(natoms)])
    return positions, lengths, shape, gamma


@settings(max_examples=25, deadline=None)
@given(fine_grids())
def test_integral_is_n_atoms_times_two_pi_gamma_squared(case):
    # Poisson summation: the pixel sum of a periodic Gaussian is its integral 2πγ² times
    # 1 + 2 Σ_k exp(−2π²γ²k²/Δ²) cos(·) per axis, so Δ ≤ γ leaves at most ~1e-8 relative.
    positions, lengths, shape, gamma = case
    pixel = np.asarray(lengths) / shape
    aliasing = 2.05 * np.exp(-2 * np.pi**2 * gamma**2 / pixel**2).sum()
    exact = len(positions) * 2 * np.pi * gamma**2
    numbers = np.full(len(positions), 6)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render_module, "PEAK_TRUNCATION", 1e-30)  # no tails dropped
        integral = render(positions, numbers, lengths, shape, gamma=gamma, elements=(6,)).sum().item()
    assert abs(integral * pixel.prod() / exact - 1) <= aliasing + 1e-12
    # With the default truncation the dropped tails cost well under 1e-6 of the mass.
    integral = render(positions, numbers, lengths, shape, gamma=gamma, elements=(6,)).sum().item()
    assert abs(integral * pixel.prod() / exact - 1) <= aliasing + 1e-6


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 1.0), st.floats(0.02, 1.5), st.sampled_from([1e-3, 1e-6, 1e-9]))
def test_stencil_halfwidth_is_the_smallest_that_covers_the_reach(gamma, pixel, truncation):
    h = stencil_halfwidth(gamma, pixel, truncation)
    # Nearest possible distance from an atom in pixel k to the centre of pixel k ± m: (m − ½)Δ.
    assert math.exp(-(((h + 0.5) * pixel) ** 2) / (2 * gamma**2)) < truncation * (1 + 1e-12)
    if h > 0:
        assert math.exp(-(((h - 0.5) * pixel) ** 2) / (2 * gamma**2)) >= truncation * (1 - 1e-12)


def test_inputs_formats_agree_and_z_is_ignored():
    rng = np.random.default_rng(3)
    positions, numbers = rng.uniform(0, 5, (6, 3)), rng.choice(ELEMENTS, 6)
    args = ((5.0, 6.0), (20, 24))
    reference = render(positions, numbers, *args)
    torch.testing.assert_close(
        render(torch.from_numpy(positions[:, :2]), torch.from_numpy(numbers), *args), reference, rtol=0, atol=0
    )
    shifted = positions + [0, 0, 3.0]
    torch.testing.assert_close(render(shifted.tolist(), numbers.tolist(), *args), reference, rtol=0, atol=0)
    single = render(positions, numbers, *args, dtype=torch.float32)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), reference, rtol=0, atol=1e-5 * reference.max().item())
    assert render(positions, numbers, *args, size=(0, 5)).shape == (0, 5, 1)


GOOD = dict(positions=[[0.0, 0.0], [1.0, 2.0]], numbers=[6, 7], cell_lengths=(4.0, 4.0), shape=(8, 8))


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(positions=[[np.nan, 0.0], [1.0, 2.0]]), "finite"),
        (dict(positions=[[np.inf, 0.0], [1.0, 2.0]]), "finite"),
        (dict(positions=[[0.0, 0.0, 0.0]]), "numbers must have shape"),
        (dict(numbers=[6, 7, 8]), "numbers must have shape"),
        (dict(positions=np.zeros((0, 2)), numbers=[]), "no atoms"),
        (dict(positions=[0.0, 1.0]), "positions must have shape"),
        (dict(gamma=0.0), "gamma"),
        (dict(gamma=-0.2), "gamma"),
        (dict(gamma=float("nan")), "gamma"),
        (dict(cell_lengths=(4.0, 0.0)), "cell length"),
        (dict(cell_lengths=(-4.0, 4.0)), "cell length"),
        (dict(cell_lengths=(4.0,)), "cell_lengths"),
        (dict(shape=(8, 0)), "shape"),
        (dict(shape=(-8, 8)), "shape"),
        (dict(shape=(8.5, 8)), "shape"),
        (dict(size=(-1, 4)), "size"),
        (dict(origin=(0.5, 0)), "origin"),
        (dict(numbers=[6, 0]), "atomic numbers"),
        (dict(numbers=[6, 7.5]), "atomic numbers"),
        (dict(elements=(5, 6)), "element N has no channel; the channel elements are B, C"),
        (dict(elements=(6, 6, 7)), "distinct"),
        (dict(dtype=torch.int64), "dtype"),
    ],
)
def test_bad_input_raises_one_line_error(change, message):
    kwargs = {**GOOD, **change}
    with pytest.raises(EDNNError, match=message) as error:
        render(
            kwargs.pop("positions"), kwargs.pop("numbers"), kwargs.pop("cell_lengths"), kwargs.pop("shape"), **kwargs
        )
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("args", [(0.0, 0.2), (0.2, -1.0), (0.2, 0.2, 1.0), (0.2, 0.2, 0.0)])
def test_stencil_halfwidth_rejects_bad_input(args):
    with pytest.raises(EDNNError):
        stencil_halfwidth(*args)


def test_result_does_not_depend_on_chunking(monkeypatch):
    rng = np.random.default_rng(4)
    positions, numbers = rng.uniform(-5, 10, (50, 2)), rng.choice(ELEMENTS, 50)
    expected = render(positions, numbers, (5.0, 5.0), (25, 25), elements=ELEMENTS, origin=(3, -4), size=(9, 30))
    monkeypatch.setattr(render_module, "_CHUNK_VALUES", 300)  # two or three atoms per step
    chunked = render(positions, numbers, (5.0, 5.0), (25, 25), elements=ELEMENTS, origin=(3, -4), size=(9, 30))
    torch.testing.assert_close(chunked, expected, rtol=0, atol=1e-12)
