"""CPU speed of ednn on Ising spins (f=1, c=1): training and inference vs a naive tile loop.

Training: 8×8 configurations per second for one Adam step (forward, MSE on the
summed tile outputs, backward, update) with
  - ednn tile patterns: what `ednn.train.fit` does for discrete inputs (the network runs
    once on the distinct tiles, sums gather their outputs);
  - ednn model(x): the generic path, on explicit tile copies;
  - naive: a Python loop over tile positions, running the network on one tile
    position of the whole batch at a time and adding to a running sum.
Inference: spins per second of `EDNN.predict` on L×L lattices of ±1 spins and of the
naive loop (on a smaller lattice, per-spin rate).
All methods share the same network weights; their outputs are compared.

    python benchmarks/speed_ising.py [--threads 2] [--repeats 5] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ednn.core.model import EDNN
from ednn.core.nets import build_net
from ednn.systems.ising import ising_energy
from ednn.train.fit import GridSet, TilePatterns

FOCUS, CONTEXT, SIZE = 1, 1, 8
EPOCH = 100_000  # configurations per epoch for the s/epoch column
EPOCH_TARGET_S = 10.0
NETS = {"paper 288-64-64": {}, "lean 64-64": {"hidden": [64, 64]}}


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of `fn` over `repeats` calls after `warmup` untimed calls, and all times."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def naive_sums(
    net: nn.Module, x: torch.Tensor, focus: int, context: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Σ_tiles net(tile) by looping over tile positions, as in the original EDNN tutorial."""
    padded = F.pad(x, [context] * 4, mode="circular")
    edge = focus + 2 * context
    total = torch.zeros(x.shape[0], 1, dtype=dtype)
    for i in range(0, x.shape[2], focus):
        for j in range(0, x.shape[3], focus):
            total = total + net(padded[:, :, i : i + edge, j : j + edge]).to(dtype)
    return total


def make_model(net_options: dict) -> EDNN:
    """A fresh f=1, c=1 EDNN around the dense tile network."""
    net = build_net("dense", tile=FOCUS + 2 * CONTEXT, **net_options)
    return EDNN(net, FOCUS, CONTEXT)


def make_stepper(
    model: EDNN, sums: Callable[[torch.Tensor], torch.Tensor], y: torch.Tensor, batch_size: int
) -> Callable[[int], None]:
    """A function running n Adam steps of MSE(sums(batch index), y[batch index]) on full batches."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))[: len(y) // batch_size * batch_size]
    batches = batches.view(-1, batch_size)
    position = [0]

    def run(steps: int) -> None:
        for _ in range(steps):
            index = batches[position[0] % len(batches)]
            position[0] += 1
            loss = F.mse_loss(sums(index), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    return run


def training_methods(base: EDNN, data: GridSet, table: TilePatterns) -> dict[str, tuple[EDNN, Callable]]:
    """Each training method with its own copy of the (same) initial model."""
    patterns, tiles, naive = (copy.deepcopy(base) for _ in range(3))
    return {
        "ednn tile patterns": (patterns, lambda i: patterns.net(table.patterns)[table.index[i]].sum(1)),
        "ednn model(x), tile copies": (tiles, lambda i: tiles(data.x[i])),
        "naive tile loop": (naive, lambda i: naive_sums(naive.net, data.x[i], FOCUS, CONTEXT)),
    }


def max_rel_diff(values: list[torch.Tensor | np.ndarray]) -> float:
    """Largest |a - ref| / |ref| of every entry against the first."""
    ref = torch.as_tensor(values[0]).double()
    return max(
        ((torch.as_tensor(v).double() - ref).abs() / ref.abs().clamp_min(1e-12)).max().item() for v in values[1:]
    )


def bench_training(net_name: str, base: EDNN, data: GridSet, args: argparse.Namespace) -> list[dict]:
    """Training throughput rows for one tile network."""
    start = time.perf_counter()
    table = TilePatterns.find(base, data, args.batch_size)
    find_s = time.perf_counter() - start
    if table is None:
        raise SystemExit("TilePatterns.find declined the data set; tile patterns cannot be timed")
    methods = training_methods(base, data, table)
    probe = torch.arange(args.batch_size)
    with torch.no_grad():
        outputs = [sums(probe) for _, sums in methods.values()]
    agreement = max_rel_diff(outputs)
    print(
        f"  {net_name}: {len(table.patterns)} distinct tiles (find: {find_s:.2f} s on {len(data)} configs), "
        f"max rel. diff of sums between methods {agreement:.1e}"
    )
    y = ((data.y - data.y.mean()) / data.y.std()).float()
    rows = []
    for method, (model, sums) in methods.items():
        steps = args.naive_steps if method.startswith("naive") else args.steps
        run = make_stepper(model, sums, y, args.batch_size)
        seconds, times = median_seconds(lambda: run(steps), args.repeats)  # noqa: B023 (called at once)
        rate = steps * args.batch_size / seconds
        rows.append(
            dict(
                task="training",
                method=method,
                network=net_name,
                rate=rate,
                unit="configs/s",
                s_per_epoch=EPOCH / rate,
                steps_timed=steps,
                times_s=times,
                max_rel_diff=agreement,
                find_patterns_s=find_s if method == "ednn tile patterns" else None,
            )
        )
    return rows


def bench_inference(net_name: str, base: EDNN, args: argparse.Namespace) -> list[dict]:
    """Inference throughput rows for one tile network."""
    rng = np.random.default_rng(1)
    big = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(1, args.lattice, args.lattice))
    small = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(1, args.naive_lattice, args.naive_lattice))
    model = copy.deepcopy(base).eval()

    def naive(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            scaled = naive_sums(model.net, torch.from_numpy(x)[:, None], FOCUS, CONTEXT, torch.float64)
            return model.target.to_physical(scaled, x[0].size).numpy()[:, 0]

    naive_vs_tiles = max_rel_diff([model.predict(small), naive(small)])
    print(f"  {net_name}: max rel. diff of totals: naive vs tile copies {naive_vs_tiles:.1e} ({args.naive_lattice}²)")
    cases = [
        ("ednn predict, tile copies", big, lambda: model.predict(big)),
        ("naive tile loop", small, lambda: naive(small)),
    ]
    rows = []
    for method, x, fn in cases:
        seconds, times = median_seconds(fn, args.repeats, warmup=0)
        rows.append(
            dict(
                task="inference",
                method=method,
                network=net_name,
                rate=x.size / seconds,
                unit="spins/s",
                lattice=x.shape[1],
                times_s=times,
                max_rel_diff=naive_vs_tiles,
            )
        )
    return rows


def print_table(rows: list[dict]) -> None:
    """Rows with the ratio of each rate to the naive loop's for the same task and network."""
    naive = {(r["task"], r["network"]): r["rate"] for r in rows if r["method"] == "naive tile loop"}
    print(
        f"\n{'task':9} {'method':27} {'network':16} {'rate':>13} {'unit':9} {'s/epoch':>8} {'spread':>7} {'×naive':>7}"
    )
    for r in rows:
        r["ratio_to_naive"] = r["rate"] / naive[(r["task"], r["network"])]
        epoch = f"{r['s_per_epoch']:.2f}" if r["task"] == "training" else ""
        spread = max(r["times_s"]) / min(r["times_s"]) - 1
        print(
            f"{r['task']:9} {r['method']:27} {r['network']:16} {r['rate']:>13,.0f} {r['unit']:9} {epoch:>8} "
            f"{spread:>6.0%} {r['ratio_to_naive']:>7.1f}"
        )
    print("spread: (slowest - fastest) / fastest timed repeat; ×naive: rate / naive loop's rate, same task and network")
    print("\nspeed-up, fastest ednn method / naive loop:")
    for task, network in naive:
        best = max(
            (r for r in rows if (r["task"], r["network"]) == (task, network) and r["method"].startswith("ednn")),
            key=lambda r: r["rate"],
        )
        extra = ""
        if task == "training":
            verdict = "meets" if best["s_per_epoch"] <= EPOCH_TARGET_S else "misses"
            extra = f"; {best['s_per_epoch']:.2f} s/epoch {verdict} the ≤ {EPOCH_TARGET_S:g} s target"
        print(f"  {task:9} {network:16} {best['ratio_to_naive']:6.1f}× ({best['method']}{extra})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument(
        "--repeats", type=int, help="timed repeats per measurement, median reported (default 5, quick 2)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a smoke test (< 20 s)")
    parser.add_argument("--json", type=Path, help="write settings, machine and all results here")
    parser.add_argument("--batch-size", type=int, help="training batch (default 2000, quick 256)")
    parser.add_argument("--lattice", type=int, help="inference lattice edge for ednn (default 1024, quick 128)")
    parser.add_argument(
        "--naive-lattice", type=int, help="inference lattice edge for the naive loop (default 256, quick 32)"
    )
    args = parser.parse_args()
    quick = args.quick
    defaults = dict(
        repeats=2 if quick else 5,
        batch_size=256 if quick else 2000,
        lattice=128 if quick else 1024,
        naive_lattice=32 if quick else 256,
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.steps, args.naive_steps = (2, 1) if quick else (5, 2)
    n_train = 8 * args.batch_size if quick else EPOCH
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    machine = dict(
        date=datetime.datetime.now().isoformat(timespec="seconds"),
        platform=platform.platform(),
        processor=platform.machine(),
        cpu_count=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        torch=torch.__version__,
        load_average=os.getloadavg()[0],
    )
    print(
        f"ednn speed, Ising f={FOCUS} c={CONTEXT} — {machine['date']}, {machine['processor']}, "
        f"{machine['cpu_count']} cores, torch {machine['torch']} with {machine['torch_threads']} threads, "
        f"load average {machine['load_average']:.1f}"
        f"{' (quick: tiny sizes, numbers not meaningful)' if quick else ''}"
    )
    print(
        f"training: {SIZE}×{SIZE} random ±1 spins (all 512 tiles occur), batch {args.batch_size}, "
        f"{args.steps} steps per repeat (naive: {args.naive_steps}), median of {args.repeats} after a warm-up; "
        f"s/epoch = {EPOCH:,} / rate, without Lightning overhead and the one-off pattern search"
    )
    print(f"inference: predict on {args.lattice}² ±1 spins, naive loop on {args.naive_lattice}² (per-spin rates)")

    spins = torch.randint(0, 2, (n_train, 1, SIZE, SIZE), generator=torch.Generator().manual_seed(0)).float() * 2 - 1
    data = GridSet(spins, torch.from_numpy(ising_energy(spins[:, 0].numpy()))[:, None])
    bases = {name: make_model(options) for name, options in NETS.items()}
    rows: list[dict] = []
    print("\nchecks:")
    for name, base in bases.items():
        rows += bench_training(name, base, data, args)
    for name, base in bases.items():
        rows += bench_inference(name, base, args)
    print_table(rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        args.json.write_text(json.dumps(dict(machine=machine, settings=settings, results=rows), indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
