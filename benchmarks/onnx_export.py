"""Agreement and speed of the committed Ising model's ONNX export against `model.predict`.

Exports models/ising-8x8-f1c1.safetensors once (`ednn.export.onnx.export_onnx`), then prints the
largest relative difference of onnxruntime's totals from `predict` on Ising grids of several sizes
and batch sizes (random spins at a 20 % flip rate, so totals are far from zero), and the median
wall time of each on one 256×256 grid (onnxruntime on all CPU cores it sees; `predict` with
torch's threads).

    python benchmarks/onnx_export.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime

import ednn
from ednn.export.onnx import export_onnx

ISING = Path(__file__).resolve().parents[1] / "models" / "ising-8x8-f1c1.safetensors"
SIZES = [(1, 16, 16), (4, 32, 48), (8, 64, 64), (2, 256, 256)]


def median_seconds(call, repeats: int) -> float:
    """Median wall time of `call()` over `repeats` runs, after one warm-up run."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    model = ednn.load(ISING)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        path = export_onnx(model, Path(folder) / "ising.onnx")
        print(f"export: {time.perf_counter() - start:.1f} s, {path.stat().st_size / 1e3:.0f} kB")
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for shape in SIZES:
        x = rng.choice([-1.0, 1.0], size=shape, p=[0.8, 0.2]).astype(np.float32)
        got = session.run(None, {"grids": x[:, None]})[0][:, 0]
        expected = model.predict(x)
        print(f"{shape}: largest relative difference {np.max(np.abs(got / expected - 1)):.2e}")
    x = rng.choice([-1.0, 1.0], size=(1, 256, 256)).astype(np.float32)
    onnx_s = median_seconds(lambda: session.run(None, {"grids": x[:, None]}), args.repeats)
    torch_s = median_seconds(lambda: model.predict(x), args.repeats)
    print(f"one 256×256 grid: onnxruntime {1e3 * onnx_s:.1f} ms, model.predict {1e3 * torch_s:.1f} ms")


if __name__ == "__main__":
    main()
