import itertools
import json
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ednn
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_net
from ednn.systems.ising import ONSAGER_TC, ising_energy
from ednn.systems.ising.sampler import TileMetropolis, sample_moments, sublattices
from ednn.systems.ising.statistics import ChainMoments, binder_crossing, binder_crossings, observables
from ednn.systems.ising.tile_energy import TileEnergy, exact_tile_table, tile_codes, tile_table
from ednn.systems.ising.transition import Stage, estimate_seconds, run_transition, transition_stages
from ednn.systems.ising.transition_report import summary_lines

FLAGSHIP = "models/ising-8x8-f1c1.safetensors"


def random_spins(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return (2 * rng.integers(0, 2, (n, size, size)) - 1).astype(np.int8)


def offset_model(focus: int, context: int, seed: int = 0) -> EDNN:
    """An untrained model with every kind of scale and offset set."""
    torch.manual_seed(seed)
    model = EDNN(
        build_net("dense", tile=focus + 2 * context, hidden=[16]), focus, context, scale=2.5, offset_per_site=-0.75
    )
    model.target.offset_per_intensity.fill_(0.3)
    return model.eval()


@pytest.fixture(scope="module")
def flagship() -> EDNN:
    return ednn.load(FLAGSHIP)


@pytest.mark.parametrize(("focus", "context", "size"), [(1, 1, 8), (1, 1, 13), (2, 1, 6), (1, 0, 5), (2, 0, 4)])
def test_table_gives_each_tiles_contribution_and_the_predicted_total(focus, context, size):
    model = offset_model(focus, context)
    spins = random_spins(np.random.default_rng(size), 12, size)
    table, codes = tile_table(model), tile_codes(spins, focus, context)
    assert table.dtype == np.float64 and table.shape == (2 ** ((focus + 2 * context) ** 2),)
    np.testing.assert_allclose(table[codes], model.contributions(spins), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(TileEnergy.from_model(model).energy(spins), model.predict(spins), rtol=1e-9)


@pytest.mark.parametrize("size", [4, 8, 64])
def test_flagship_table_total_equals_predict(flagship, size):
    spins = random_spins(np.random.default_rng(size), 16, size)
    energy = TileEnergy.from_model(flagship)
    np.testing.assert_allclose(energy.energy(spins), flagship.predict(spins), rtol=1e-9)
    # and close to the exact energy, as trained (tile by tile it may split the bonds differently)
    assert np.median(np.abs(energy.energy(spins) - ising_energy(spins))) < 1e-3 * size**2


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([(1, 1), (2, 1)]), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_exact_table_sums_to_ising_energy(geometry, regions, seed):
    focus, context = geometry
    spins = random_spins(np.random.default_rng(seed), 3, focus * regions)
    energy = TileEnergy.exact(focus, context)
    np.testing.assert_array_equal(energy.energy(spins), ising_energy(spins))


def test_exact_table_of_the_3x3_tile_is_minus_centre_times_right_and_down():
    s = 2 * ((np.arange(512)[:, None] >> np.arange(9)) & 1) - 1
    np.testing.assert_array_equal(exact_tile_table(), -s[:, 4] * (s[:, 5] + s[:, 7]))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([(1, 0), (1, 1), (2, 0), (2, 1), (1, 2), (3, 1)]), st.integers(1, 12))
def test_sublattice_classes_cover_every_site_once_and_never_share_a_tile(geometry, regions):
    focus, context = geometry
    size = focus * regions
    try:
        classes = sublattices(focus, context, size)
    except EDNNError:
        assert size < focus + 2 * context  # one tile would hold a spin twice
        return
    sites = np.concatenate([s for s, _ in classes])
    np.testing.assert_array_equal(np.sort(sites), np.arange(size * size))
    t = focus + 2 * context
    for class_sites, tiles in classes:
        index = np.stack([i for i, _ in tiles])  # (offsets, S)
        assert len(np.unique(index)) == index.size
        # Each listed (tile, bit) is exactly the change of that tile's code when the site flips.
        for k, site in enumerate(class_sites):
            lattice = np.ones((1, size, size), dtype=np.int8)
            flipped = lattice.copy()
            flipped.reshape(-1)[site] = -1
            change = (tile_codes(lattice, focus, context) ^ tile_codes(flipped, focus, context)).reshape(-1)
            listed = {(int(i[k]), bit) for i, bit in tiles}
            assert listed == {(int(i), int(change[i])) for i in np.flatnonzero(change)}
            assert all(bit < 2 ** (t * t) for _, bit in listed)


@pytest.mark.parametrize(("focus", "context", "size"), [(1, 1, 6), (2, 1, 8), (1, 0, 3)])
def test_energy_change_of_each_proposal_equals_recomputation(focus, context, size):
    energy = TileEnergy.from_model(offset_model(focus, context, seed=1))
    rng = np.random.default_rng(2)
    sampler = TileMetropolis(energy, size, np.full(3, 2.5), rng, spins=random_spins(rng, 3, size))
    for _ in range(2):
        sampler.sweep()
    spins, before = sampler.spins, sampler.energies()
    np.testing.assert_allclose(before, energy.energy(spins), rtol=1e-12)
    for k, (sites, _) in enumerate(sublattices(focus, context, size)):
        delta, _ = sampler.energy_changes(k)
        for i, site in enumerate(sites):
            flipped = spins.reshape(3, -1).copy()
            flipped[:, site] *= -1
            after = energy.energy(flipped.reshape(spins.shape))
            np.testing.assert_allclose(delta[i], after - before, atol=1e-9)


def exact_averages_4x4(energy: TileEnergy, T: float) -> dict[str, float]:
    """Boltzmann averages of E, |m|, m², m⁴ on the periodic 4×4 lattice, over all 2^16 states."""
    spins = (2 * ((np.arange(2**16)[:, None] >> np.arange(16)) & 1) - 1).reshape(-1, 4, 4).astype(np.int8)
    e, m = energy.energy(spins), spins.mean(axis=(1, 2))
    weight = np.exp(-(e - e.min()) / T)
    weight /= weight.sum()
    return {"E": weight @ e, "abs_m": weight @ np.abs(m), "m2": weight @ m**2, "m4": weight @ m**4}


@pytest.mark.parametrize("T", [1.8, ONSAGER_TC, 3.0])
@pytest.mark.parametrize("which", ["exact", "flagship"])
def test_sampler_matches_exact_enumeration_on_4x4(flagship, which, T):
    energy = TileEnergy.exact() if which == "exact" else TileEnergy.from_model(flagship)
    moments = sample_moments(energy, 4, np.full(200, T), equilibration=100, sweeps=200, rng=np.random.default_rng(7))
    expected = exact_averages_4x4(energy, T)
    for name, value in expected.items():
        chain_means = moments.sums[name] / moments.samples
        error = chain_means.std(ddof=1) / np.sqrt(len(chain_means))
        assert abs(chain_means.mean() - value) < 5 * error + 1e-12, name


def test_observables_follow_their_definitions_and_jackknife_a_mean():
    rng = np.random.default_rng(3)
    sums = {name: rng.random(8) + 1 for name in ("E", "E2", "abs_m", "m2", "m4")}
    moments = ChainMoments(4, np.repeat([2.0, 3.0], 4), np.full(8, 10), sums, 0, 1.0)
    result = observables(moments, groups=4)
    assert result["temperature"] == [2.0, 3.0] and result["chains"] == [4, 4]
    mean = {name: value[:4].sum() / 40 for name, value in sums.items()}
    assert result["energy"][0] == pytest.approx(mean["E"] / 16)
    assert result["specific_heat"][0] == pytest.approx((mean["E2"] - mean["E"] ** 2) / (16 * 4.0))
    assert result["susceptibility"][0] == pytest.approx(16 * (mean["m2"] - mean["abs_m"] ** 2) / 2.0)
    assert result["binder"][0] == pytest.approx(1 - mean["m4"] / (3 * mean["m2"] ** 2))
    # For a plain mean the jackknife error is the standard error of the group means.
    assert result["abs_magnetisation_error"][0] == pytest.approx(np.std(sums["abs_m"][:4] / 10, ddof=1) / 2)


def test_binder_crossing_finds_the_rising_zero_inside_the_range():
    T = np.linspace(2.2, 2.34, 8)
    small = 0.6 - 0.5 * (T - 2.27)
    assert binder_crossing(T, small, 0.6 - 1.5 * (T - 2.27) - 2 * (T - 2.27) ** 2) == pytest.approx(2.27)
    assert binder_crossing(T[::3], small[::3], 0.6 - 1.5 * (T[::3] - 2.27)) == pytest.approx(2.27)
    assert np.isnan(binder_crossing(T, small, small - 0.1))


def test_stages_put_the_coarse_grid_outside_the_fine_range_and_scale_with_effort():
    fine = (2.1, 2.3, 2.5)
    stages = transition_stages([8, 4], (1.5, 2.3, 3.5), fine, effort=0.1, sweep_factor=0.05)
    assert [(s.size, s.temperatures) for s in stages] == [(4, (1.5, 3.5)), (4, fine), (8, (1.5, 3.5)), (8, fine)]
    assert all(s.chains >= 16 for s in stages if s.temperatures == fine)
    big = transition_stages([64], (1.5,), fine, effort=2.0)
    assert [s.chains for s in big] == [8, 64]
    with pytest.raises(EDNNError, match="different names"):
        run_transition(TileEnergy.exact(), stages, fine, progress=False)


def test_run_transition_reports_both_energies(flagship):
    fine = (2.1, 2.3, 2.5)
    stages = [Stage(4, fine, 16, 20, 40), Stage(8, fine, 16, 20, 40), Stage(8, (1.5,), 4, 10, 20)]
    lines = []
    start = time.perf_counter()
    result = run_transition(TileEnergy.from_model(flagship), stages, fine, progress=False, on_stage=lines.append)
    wall = time.perf_counter() - start
    assert set(result["energies"]) == {"EDNN", "exact"}
    assert len(lines) == 6 and lines[0].startswith("EDNN energy, stage 1 of 3 (L = 4, 48 chains): ")
    assert lines[-1].startswith("exact energy, stage 3 of 3 (L = 8, 4 chains): ")
    ednn_run, exact_run = result["energies"]["EDNN"], result["energies"]["exact"]
    assert ednn_run["observables"]["8"]["temperature"] == [1.5, 2.1, 2.3, 2.5]
    assert "energy_exact" in ednn_run["observables"]["8"] and "energy_exact" not in exact_run["observables"]["8"]
    assert np.max(np.abs(ednn_run["observables"]["8"]["energy_difference"])) < 1e-3
    assert [c["sizes"] for c in ednn_run["crossings"]] == [[4, 8]]
    assert ednn_run["proposals"] == sum(s.proposals for s in stages)
    assert ednn_run["rate"] == pytest.approx(ednn_run["proposals"] / ednn_run["seconds"], rel=1e-12)
    assert 0 < ednn_run["seconds"] + exact_run["seconds"] <= wall  # both runs happened inside the call
    assert result["onsager_tc"] == pytest.approx(2.2692, abs=1e-4)


def test_binder_crossings_of_independent_chain_groups():
    rng = np.random.default_rng(4)
    T = np.linspace(2.2, 2.34, 6)

    def moments(size, slope):
        # m² = 1 and m⁴ = 3(1 − U) per sample gives U exactly; noise per chain for the error bars.
        chains = np.repeat(T, 16)
        u = 0.6 - slope * (chains - 2.27) + rng.normal(0, 0.002, chains.size)
        sums = {
            "E": np.zeros(chains.size),
            "E2": np.zeros(chains.size),
            "abs_m": np.ones(chains.size),
            "m2": np.ones(chains.size),
            "m4": 3 * (1 - u),
        }
        return ChainMoments(size, chains, np.ones(chains.size), sums, 0, 1.0)

    crossings = binder_crossings({16: moments(16, 0.5), 32: moments(32, 1.0), 64: moments(64, 2.0)}, T)
    assert [c["sizes"] for c in crossings] == [[16, 32], [32, 64]]
    for c in crossings:
        assert 0 < c["error"] < 0.01 and abs(c["tc"] - 2.27) < 4 * c["error"] and c["groups"] == 16


def test_summary_says_why_a_crossing_or_its_error_bar_is_nan():
    def run(tc, error):
        return {
            "crossings": [{"sizes": [4, 6], "tc": tc, "error": error, "groups": 16}],
            "rate": 1e6,
            "proposals": 1e6,
            "seconds": 1.0,
        }

    result = {
        "onsager_tc": ONSAGER_TC,
        "fine_temperatures": [2.24, 2.25, 2.3],
        "energies": {
            "EDNN": run(2.25, float("nan")),
            "exact": run(float("nan"), float("nan")),
            "other": run(2.27, 0.01),
        },
    }
    notes = [line for line in summary_lines(result) if ": " in line and "proposals" not in line]
    assert len(notes) == 2
    assert notes[0].startswith("EDNN 4/6: no error bar") and "raise --effort" in notes[0]
    assert notes[1].startswith("exact 4/6: no rising Binder crossing inside") and "2.24..2.3" in notes[1]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: TileMetropolis(TileEnergy.exact(), 8, np.array([2.0, 0.0]), np.random.default_rng(0)), "> 0"),
        (lambda m: TileMetropolis(TileEnergy.exact(), 8, np.array([-1.0]), np.random.default_rng(0)), "> 0"),
        (
            lambda m: TileMetropolis(TileEnergy.exact(2, 1), 5, np.array([2.0]), np.random.default_rng(0)),
            "whole number of focus regions",
        ),
        (lambda m: TileMetropolis(TileEnergy.exact(), 2, np.array([2.0]), np.random.default_rng(0)), "too small"),
        (
            lambda m: TileMetropolis(
                TileEnergy.exact(), 4, np.array([2.0]), np.random.default_rng(0), spins=np.ones((2, 4, 4))
            ),
            "shape",
        ),
        (lambda m: tile_table(EDNN(build_net("dense", tile=5, hidden=[4]), 1, 2)), "at most 16 pixels"),
        (lambda m: tile_table(EDNN(build_net("dense", tile=3, outputs=2, hidden=[4]), 1, 1, outputs=2)), "outputs"),
        (lambda m: tile_table(EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, padding="zeros")), "periodic"),
        (
            lambda m: TileEnergy.from_model(EDNN(build_net("dense", tile=3, ndim=1, hidden=[4]), 1, 1, ndim=1)),
            "2-D one-channel",
        ),
        (lambda m: tile_table(EDNN(build_net("dense", tile=3, channels=2, hidden=[4]), 1, 1, channels=2)), "18 pixels"),
        (
            lambda m: TileEnergy.from_model(
                EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, targets=["magnetisation"])
            ),
            "trained on 'magnetisation'",
        ),
        (
            lambda m: TileEnergy.from_model(
                EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, info={"data": {"input_values": [0.0, 1.0]}})
            ),
            "holding 0, 1",
        ),
        (
            lambda m: TileEnergy.from_model(
                EDNN(build_net("dense", tile=3, hidden=[4]), 1, 1, info={"data": {"input_values": None}})
            ),
            "many distinct values",
        ),
        (lambda m: exact_tile_table(1, 0), "context >= 1"),
        (lambda m: tile_codes(np.zeros((1, 4, 4)), 1, 1), "±1"),
        (lambda m: binder_crossings({8: None}, [2.2, 2.3]), "two lattice sizes"),
    ],
)
def test_bad_input_gives_one_line_errors(flagship, call, message):
    with pytest.raises(EDNNError, match=message) as info:
        call(flagship)
    assert "\n" not in str(info.value)


def test_atom_models_are_refused():
    model = ednn.load("models/ablations/hexsheets-gfn1xtb-dense.safetensors")
    with pytest.raises(EDNNError, match="atom images"):
        tile_table(model)


@pytest.mark.slow
def test_cli_transition_prints_crossings_and_writes_json_and_plots(ednn_cli, tmp_path):
    run = ednn_cli(
        "ising",
        "transition",
        FLAGSHIP,
        "--sizes",
        "4,8",
        "--t-step",
        1.0,
        "--fine-min",
        2.1,
        "--fine-max",
        2.5,
        "--fine-step",
        0.2,
        "--effort",
        0.1,
        "--json",
        tmp_path / "t.json",
        "--plots",
        tmp_path / "fig",
    )
    assert run.returncode == 0, run.stderr
    assert "Onsager" in run.stdout and run.stdout.count("4/8") == 2
    result = json.loads((tmp_path / "t.json").read_text())
    assert set(result["energies"]) == {"EDNN", "exact"} and result["fine_temperatures"] == [2.1, 2.3, 2.5]
    for name in ("energy", "abs-magnetisation", "specific-heat", "susceptibility", "binder"):
        assert (tmp_path / f"fig-{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([FLAGSHIP, "--t-min", 0], "0 < low"),
        ([FLAGSHIP, "--fine-min", -2.0], "0 < low"),
        ([FLAGSHIP, "--sizes", "2,4"], "too small"),
        ([FLAGSHIP, "--sizes", "8"], "at least two sizes"),
        (["models/ablations/ising-8x8-f1c2.safetensors"], "at most 16 pixels"),
        (["models/ablations/hexsheets-gfn1xtb-dense.safetensors"], "atom images"),
    ],
)
def test_cli_transition_refuses_bad_input_in_one_line(ednn_cli, arguments, message):
    run = ednn_cli("ising", "transition", *arguments)
    assert run.returncode == 2 and message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 or "Usage:" in run.stderr


def test_cli_transition_explains_itself(ednn_cli):
    run = ednn_cli("ising", "transition", "--help")
    assert run.returncode == 0 and "Binder" in run.stdout and "--effort" in run.stdout


def ticking_clock(step: float):
    """A clock that moves on by `step` seconds each time it is read."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_estimate_is_the_timed_work_of_each_stage():
    stage = Stage(8, (2.0, 2.5), 4, 10, 20)  # one size: its 8 chains are timed once for both energies
    # a fake clock makes every timed start, sweep and measurement take one tick: per energy,
    # start + 30 sweeps + 20 measurements, each of the model's with the exact energy's too
    for tick in (0.01, 0.02):
        seconds = estimate_seconds(TileEnergy.exact(), [stage], exact=TileEnergy.exact(), clock=ticking_clock(tick))
        assert seconds == pytest.approx((1 + 30 + 20 * 2) * tick + (1 + 30 + 20) * tick)
    # twice the sweeps, about twice the time (the start does not double)
    stages = transition_stages([4, 8], (1.5, 3.5), (2.2, 2.3), effort=0.1, sweep_factor=0.05)
    once, twice = (
        estimate_seconds(TileEnergy.exact(), s, exact=TileEnergy.exact(), clock=ticking_clock(0.01))
        for s in (stages, transition_stages([4, 8], (1.5, 3.5), (2.2, 2.3), effort=0.1, sweep_factor=0.1))
    )
    assert 1.9 < twice / once < 2


def test_estimate_of_a_small_run_is_close_to_its_time(flagship):
    fine = (2.1, 2.3, 2.5)
    stages = [Stage(8, fine, 16, 100, 200), Stage(16, fine, 16, 100, 200)]
    model = TileEnergy.from_model(flagship)
    start = time.perf_counter()
    estimate = estimate_seconds(model, stages)
    warm_up = time.perf_counter() - start
    result = run_transition(model, stages, fine, progress=False)
    seconds = sum(run["seconds"] for run in result["energies"].values())
    assert warm_up < 0.3 * seconds
    assert seconds / 3 < estimate < 3 * seconds, (estimate, seconds)  # a loaded machine's noise, not a constant's error
