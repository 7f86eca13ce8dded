"""Peak memory of streaming inference depends on the block size, not on the structure."""

import contextlib
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from ednn.atoms.images import AtomImaging
from ednn.atoms.model import AtomEDNN
from ednn.core.nets import build_net
from ednn.io.giant import GiantWriter
from ednn.io.model_file import save_model
from ednn.systems.sheets import random_sheet

psutil = pytest.importorskip("psutil")

RUN = (
    "import sys, ednn; from ednn.scale.run import giant_energy; "
    "giant_energy(ednn.load(sys.argv[1]), sys.argv[2], progress=False)"
)


def tiled_sheet(path, repeats):
    """A giant file of repeats × repeats copies of one 540-site sheet, written column by column."""
    cell = random_sheet((15, 9), 2, 0)[0]
    lengths = cell.cell.lengths()
    writer = GiantWriter(path, np.diag([repeats * lengths[0], repeats * lengths[1], lengths[2]]), (repeats, repeats))
    for i in range(repeats):
        shifts = np.array([[i * lengths[0], j * lengths[1], 0.0] for j in range(repeats)])
        writer.write_column(i, (cell.positions[None] + shifts[:, None]).reshape(-1, 3), np.tile(cell.numbers, repeats))
    return writer.close(), repeats * repeats * len(cell)


def coarse_model(path, lengths):
    """A small untrained atom model with 0.5 Å pixels: cheap enough to stream 10⁷ atoms in seconds."""
    torch.manual_seed(0)
    imaging = AtomImaging(pixel_size=(lengths[0] / 75, lengths[1] / 80), elements=(5, 6, 7), per_element=False)
    model = AtomEDNN(build_net("dense", tile=9, channels=1, hidden=[8]), 5, 2, imaging=imaging)
    save_model(model, path)
    return path


def peak_rss(model, path) -> float:
    process = subprocess.Popen([sys.executable, "-c", RUN, str(model), str(path)])
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, root.memory_info().rss)
        time.sleep(0.05)
    assert process.returncode == 0
    return peak / 1e6


@pytest.mark.slow
def test_peak_memory_stays_flat_from_1e5_to_1e7_atoms(tmp_path):
    small, n_small = tiled_sheet(tmp_path / "small.h5", 14)  # 105 840 atoms
    large, n_large = tiled_sheet(tmp_path / "large.h5", 137)  # 10 135 260 atoms
    assert n_small > 1e5 and n_large > 1e7
    model = coarse_model(tmp_path / "coarse.safetensors", random_sheet((15, 9), 2, 0)[0].cell.lengths())
    grown = peak_rss(model, large) - peak_rss(model, small)
    assert grown < 150, f"peak memory grew by {grown:.0f} MB for 100x the atoms"
