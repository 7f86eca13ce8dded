"""Focus/context sweeps (paper §2.2): one model per (f, c) pair on one grid data file.

Pairs train in spawned worker processes (one thread each), all on the same split. Each pair
lives in run_dir/f{f}-c{c}/ (its training run, model.safetensors, result.json), so a killed
sweep rerun with the same settings trains only the pairs without a result, each resuming from
its own checkpoint. run_dir/sweep.json gathers the results and names the best pair.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ednn.analysis.sweep_plots import sweep_heat_map
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.tiling import check_geometry, check_spatial_shape
from ednn.io.atomic import atomic_path, write_text
from ednn.io.grids import read_grids
from ednn.io.model_file import load
from ednn.io.paths import file_digest, make_parent
from ednn.io.run_record import check_resume
from ednn.io.sniff import holds_structures
from ednn.io.splits import split_indices
from ednn.references.workers import finished_batches
from ednn.train.fit import holds_run
from ednn.train.workflow import build_model, errors, train_on_file

CAPACITIES = ("fixed", "paper")
"""How capacity is kept comparable: `fixed`, the same dense hidden widths for every pair
(FIXED_HIDDEN unless hidden=… is given); `paper`, the paper's Ising net, dense 32·(f+2c)^d, 64, 64."""
FIXED_HIDDEN = [64, 64]
"""Hidden widths of the dense net at `fixed` capacity (the 'lean' study of docs/ising.md)."""
TIMING_EDGE = 64
"""Evaluation cost is timed on grids of at least this many sites per axis (data grids tiled periodically)."""
TIMING_EXAMPLES = 16
"""Grids in the timed batch."""
BOOTSTRAP = 200
"""Resamples for the standard error of a validation median."""
SETTINGS, RESULT, MODEL, SWEEP = "sweep-settings.json", "result.json", "model.safetensors", "sweep.json"
PLOTS = {"val": "sweep-val-error.png", "cost": "sweep-cost.png"}


def pair_name(focus: int, context: int) -> str:
    """The folder of one pair: 'f2-c1'."""
    return f"f{focus}-c{context}"


def sweep_net_options(net: str, net_options: dict, capacity: str) -> dict:
    """The tile-net options every pair is built with, at `capacity` (see CAPACITIES)."""
    if capacity not in CAPACITIES:
        raise EDNNError(f"capacity must be one of {', '.join(CAPACITIES)}, got {capacity!r}")
    if capacity == "paper" and net != "dense":
        raise EDNNError(f"capacity 'paper' is the paper's dense Ising net; net {net!r} has no such rule (use dense)")
    if capacity == "paper" and "hidden" in net_options:
        raise EDNNError("capacity 'paper' sets the hidden widths to 32·(f+2c)², 64, 64: leave out hidden=…")
    if capacity == "fixed" and net == "dense":
        return {"hidden": FIXED_HIDDEN, **net_options}
    return dict(net_options)


def _distinct(values: Sequence[int], what: str) -> list[int]:
    """`values` as a list, refusing none and repeats."""
    values = [int(v) for v in values]
    if not values:
        raise EDNNError(f"a sweep needs at least one {what} value")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise EDNNError(f"{what} {', '.join(map(str, repeated))} given more than once")
    return values


def _read(data: Path, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Grids x and energies y of a grid data file (the first `limit` examples)."""
    if holds_structures(data):
        raise EDNNError(f"{data} holds atomic structures; a sweep needs a grid data file (x and energy)")
    x, y, _ = read_grids(data, require_target=True)
    return (x, y) if limit is None else (x[:limit], y[:limit])


def run_sweep(
    data: str | Path,
    run_dir: str | Path,
    focus: Sequence[int],
    context: Sequence[int],
    *,
    workers: int = 1,
    net: str = "dense",
    net_options: dict | None = None,
    capacity: str = "fixed",
    epochs: int = 50,
    batch_size: int = 2000,
    lr: float = 1e-3,
    lr_min: float = 1e-6,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    limit: int | None = None,
    report: Callable[[dict], None] | None = None,
) -> dict:
    """Train one model per (f, c) in focus × context on `data`, in `workers` spawned processes of one
    thread each (in this process when one worker or one pair is left to train); returns the record
    written to run_dir/sweep.json: {'settings', 'pairs', 'best', 'pairs_trained_now', 'seconds'}
    (test errors None without a test split).

    Every pair is checked against the data before anything trains; a run_dir that holds a sweep
    with other settings is refused. `report(result)` is called as each pair finishes.
    Heat maps of validation error and evaluation cost: run_dir/sweep-val-error.png, sweep-cost.png.
    """
    data, run_dir = Path(data), Path(run_dir)
    focus, context = _distinct(focus, "focus"), _distinct(context, "context")
    if workers < 1:
        raise EDNNError(f"workers must be at least 1, got {workers}")
    x, _ = _read(data, limit)
    options = sweep_net_options(net, dict(net_options or {}), capacity)
    parameters = {}
    for f in focus:
        for c in context:
            check_geometry(f, c)
            model = build_model(x[:1], f, c, net, net_options=options)
            try:
                check_spatial_shape(x.shape[1 : 1 + model.ndim], f, c, "periodic")
            except EDNNError as error:
                raise EDNNError(f"pair f={f}, c={c} does not fit {data.name}: {error}") from None
            parameters[pair_name(f, c)] = sum(p.numel() for p in model.parameters())
    settings = dict(
        data_sha256_16=file_digest(data),
        focus=focus,
        context=context,
        net=net,
        net_options=options,
        capacity=capacity,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lr_min=lr_min,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        limit=limit,
    )
    split_indices(len(x), seed, val_fraction, test_fraction)  # bad fractions fail before any folder is made
    _record_settings(run_dir, settings)
    training = {k: v for k, v in settings.items() if k not in ("data_sha256_16", "focus", "context", "capacity")}
    todo = [
        dict(data=str(data), folder=str(run_dir / pair_name(f, c)), focus=f, context=c, training=training)
        for f in focus
        for c in context
        if not (run_dir / pair_name(f, c) / RESULT).is_file()
    ]
    tell = report or (lambda _: None)
    start = time.perf_counter()
    if len(todo) == 1 or workers == 1:  # no process to spawn: this one trains, at its own thread count
        for task in todo:
            tell(run_pair(task))
    elif todo:
        with finished_batches(run_pair, todo, min(workers, len(todo))) as batches:
            for batch in batches:
                for result in batch:
                    tell(result)
    results = [
        {**json.loads((run_dir / pair_name(f, c) / RESULT).read_text()), "n_parameters": parameters[pair_name(f, c)]}
        for f in focus
        for c in context
    ]
    record = {
        "settings": settings,
        "pairs": results,
        "best": best_pair(results),
        "pairs_trained_now": len(todo),
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_text(run_dir / SWEEP, json.dumps(record, indent=1) + "\n")
    _plots(record, run_dir)
    return record


def _record_settings(run_dir: Path, settings: dict) -> None:
    """Keep a sweep's settings in run_dir; refuse to go on with a sweep there made with others."""
    record = run_dir / SETTINGS
    if record.is_file():
        check_resume(
            json.loads(record.read_text()),
            settings,
            f"{run_dir} holds a sweep",
            "rerun it with the same settings, or choose another run folder",
        )
        return
    make_parent(record)  # the run folder, or one line why it cannot be made
    write_text(record, json.dumps(settings, indent=1) + "\n")


def run_pair(task: dict) -> dict:
    """In a worker: train one pair (resuming its run if it has one), evaluate it, write its
    result.json; returns the result. task: {'data', 'folder', 'focus', 'context', 'training'}."""
    folder, data, training = Path(task["folder"]), Path(task["data"]), dict(task["training"])
    model_file = folder / MODEL
    if not model_file.is_file():
        run = folder / "run"
        train_on_file(
            data,
            model_file,
            run,
            focus=task["focus"],
            context=task["context"],
            resume=holds_run(run),
            progress=False,
            **training,
        )
    model = load(model_file)
    x, y = _read(data, training["limit"])
    split = split_indices(len(x), training["seed"], training["val_fraction"], training["test_fraction"])
    val = errors(model, x[split["val"]], y[split["val"]])
    absolute = np.abs(val["predicted"] - val["true"])
    rng = np.random.default_rng(0)
    resampled = np.median(rng.choice(absolute, (BOOTSTRAP, len(absolute))), axis=1)
    summary = ("median_abs_per_system", "median_abs_per_site", "mean_abs_per_system")
    result = {
        "name": folder.name,
        "focus": task["focus"],
        "context": task["context"],
        "tile": task["focus"] + 2 * task["context"],
        "validation": {
            **{k: val["summary"][k] for k in summary},
            "median_abs_per_system_se": float(resampled.std()),
            "n": int(len(absolute)),
        },
        "test": {k: model.info["test_metrics"].get(k) for k in (*summary, "n")},
        "us_per_site": evaluation_cost(model, x[split["val"]]),
        "train_seconds": model.info["training"]["wall_seconds"],
        "sessions": model.info["training"]["sessions"],
    }
    write_text(folder / RESULT, json.dumps(result, indent=1) + "\n")
    return result


def evaluation_cost(model: EDNN, x: np.ndarray) -> float:
    """µs per site of `model.predict` on TIMING_EXAMPLES grids of x (N, *spatial[, C]) tiled
    periodically to at least TIMING_EDGE sites per axis: the best of five timings."""
    spatial = x.shape[1 : 1 + model.ndim]
    reps = (1, *(math.ceil(TIMING_EDGE / s) for s in spatial), *([1] * (x.ndim - 1 - model.ndim)))
    grids = np.tile(x[:TIMING_EXAMPLES], reps)
    model.predict(grids)  # warm-up
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        model.predict(grids)
        best = min(best, time.perf_counter() - start)
    return 1e6 * best / (len(grids) * math.prod(grids.shape[1 : 1 + model.ndim]))


def best_pair(results: Sequence[dict]) -> dict:
    """The pair of lowest validation median |error| per configuration, except that a pair whose
    error is within noise of it (less than 2 combined bootstrap standard errors above) and is cheaper
    to evaluate wins: {'name', 'focus', 'context', 'lowest', 'tied'}."""

    def error(r: dict) -> float:
        return r["validation"]["median_abs_per_system"]

    lowest = min(results, key=error)
    se = lowest["validation"]["median_abs_per_system_se"]
    tied = [
        r for r in results if error(r) - error(lowest) < 2 * math.hypot(se, r["validation"]["median_abs_per_system_se"])
    ]
    best = min(tied, key=lambda r: r["us_per_site"])
    return {
        "name": best["name"],
        "focus": best["focus"],
        "context": best["context"],
        "lowest": lowest["name"],
        "tied": [r["name"] for r in tied],
    }


def _plots(record: dict, run_dir: Path) -> None:
    """The two heat maps over (f, c), written atomically into run_dir: the best pair outlined, the one
    of lowest validation error dashed where they differ."""
    focus, context = record["settings"]["focus"], record["settings"]["context"]
    by_pair = {(r["focus"], r["context"]): r for r in record["pairs"]}
    best = record["best"]
    marks = [(best["focus"], best["context"])] + [
        (r["focus"], r["context"]) for r in record["pairs"] if r["name"] == best["lowest"] != best["name"]
    ]
    maps = {
        "val": (
            lambda r: r["validation"]["median_abs_per_system"],
            "validation median |error| per configuration",
            True,
        ),
        "cost": (lambda r: r["us_per_site"], "evaluation cost (µs per site)", True),
    }
    for key, (value, label, log) in maps.items():
        grid = np.array([[value(by_pair[f, c]) for c in context] for f in focus], float)
        with atomic_path(run_dir / PLOTS[key]) as tmp:
            sweep_heat_map(grid, focus, context, tmp, label, log=log, marks=marks)


def _number(value: float | None) -> str:
    """A table cell: three significant digits, '—' for none."""
    return "—" if value is None else f"{value:.3g}"


def table_lines(record: dict, unit: str = "J") -> list[str]:
    """A Markdown table of a sweep record, one row per pair (median |error| per configuration and per
    site, in `unit`; '' for none), then the best pair in words."""
    unit = f" ({unit})" if unit else ""
    rows = [
        f"| f | c | tile | parameters | validation median{unit} | test median{unit} | test per site{unit} "
        "| µs per site | training s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in record["pairs"]:
        v, t = r["validation"], r["test"]
        rows.append(
            f"| {r['focus']} | {r['context']} | {r['tile']} | {r['n_parameters']} "
            f"| {v['median_abs_per_system']:.3g} ± {v['median_abs_per_system_se']:.2g} "
            f"| {_number(t['median_abs_per_system'])} | {_number(t['median_abs_per_site'])} "
            f"| {r['us_per_site']:.3g} | {r['train_seconds']:.0f} |"
        )
    best = record["best"]
    why = (
        "lowest validation error"
        if best["name"] == best["lowest"]
        else f"cheapest of {', '.join(best['tied'])}, within noise of the lowest validation error ({best['lowest']})"
    )
    return [*rows, "", f"best: f={best['focus']}, c={best['context']} ({why})"]
