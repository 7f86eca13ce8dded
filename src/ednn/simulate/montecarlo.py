"""Metropolis Monte Carlo of atoms with a trained EDNN as the energy, by local updates.

Many independent chains (copies of one structure) advance together: each step moves one
random atom per chain by a uniform in-plane displacement in [−step, step]² Å. The move changes
the image only within the atom's stencil around its old and new place, so only that box of
pixels is rendered again (`single_atom_boxes`) and only the tiles whose window meets it are
evaluated again (`LocalTileEnergy`); the chain's energy is updated by the difference.
The sample file stores the run's settings and the model's identity (`EDNN.identity`), and a
resume with other settings, another model or another starting structure is refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np
import torch
from ase import Atoms, units
from tqdm import tqdm

from ednn.atoms.render import channel_weights, render, single_atom_boxes, stencil_halfwidth
from ednn.core.errors import EDNNError
from ednn.core.local import LocalTileEnergy
from ednn.core.model import EDNN, grids_only
from ednn.io.run_record import check_resume, structure_difference

MAX_STEP = 0.5
"""Largest single-atom move in Å per component: more than a third of a C–C bond."""
TUNE_EVERY = 100
"""Steps between step-size adjustments during equilibration."""
FORMAT = "ednn-mc-v1"
SETTINGS = {
    "temperature_K": ("temperature", "K"),
    "chains": ("chains", ""),
    "seed": ("seed", ""),
    "equilibration": ("equilibration", "steps"),
    "sample_every": ("sample interval", "steps"),
    "target_acceptance": ("target acceptance", ""),
    "natoms": ("atoms", ""),
    "model": ("model", ""),
}
"""The stored settings of a run: key -> (name, unit) in messages. Only `steps` may change on resume."""


def _check(temperature_K: float, step: float, chains: int) -> None:
    if not (math.isfinite(temperature_K) and temperature_K > 0):
        raise EDNNError(f"temperature must be > 0 K, got {temperature_K}")
    if not (math.isfinite(step) and 0 < step <= MAX_STEP):
        raise EDNNError(f"MC step must lie in (0, {MAX_STEP}] Å, got {step}")
    if chains < 1:
        raise EDNNError(f"need at least one chain, got {chains}")


class AtomMetropolis:
    """`chains` Metropolis chains of one structure's atoms with `model`'s energy (eV) at `temperature_K`.

    positions (chains, natoms, 2), Å, in [0, L), start from `positions` ((natoms, 2) or
    (chains, natoms, 2); default the structure's own); energies (chains,) eV, float64, kept in step
    with the positions by local updates.
    """

    def __init__(
        self,
        model: EDNN,
        atoms: Atoms,
        chains: int,
        temperature_K: float,
        step: float,
        rng: np.random.Generator,
        positions: np.ndarray | None = None,
    ):
        if model.imaging is None:
            raise grids_only("it cannot drive Monte Carlo of atoms")
        _check(temperature_K, step, chains)
        self.imaging = imaging = model.imaging
        self.shape = imaging.grid_shape(atoms, model.focus)
        self.lengths = np.array([atoms.cell[0, 0], atoms.cell[1, 1]])
        self.pixel = self.lengths / np.array(self.shape)
        self.halfwidth = [stencil_halfwidth(imaging.gamma, p) for p in self.pixel]
        self.numbers = atoms.numbers.copy()
        self.z = atoms.positions[:, 2].copy()
        self.cell = atoms.cell.array.copy()
        elements = imaging.elements if imaging.per_element else None
        self.weights, self.channel, self.nchannels = channel_weights(
            torch.as_tensor(self.numbers), elements, torch.float64
        )
        start = atoms.positions[:, :2] if positions is None else np.asarray(positions, dtype=np.float64)
        self.positions = np.broadcast_to(start % self.lengths, (chains, len(atoms), 2)).copy()
        self.temperature_K = float(temperature_K)
        self.beta = 1.0 / (units.kB * temperature_K)
        self.step_size = float(step)
        self.rng = rng
        grids = torch.stack([self._render(p) for p in self.positions])
        self.energy = LocalTileEnergy(model, grids)

    def _render(self, xy: np.ndarray) -> torch.Tensor:
        return render(
            xy,
            self.numbers,
            tuple(self.lengths),
            self.shape,
            gamma=self.imaging.gamma,
            elements=self.imaging.elements if self.imaging.per_element else None,
            dtype=torch.float64,
        )

    @property
    def energies(self) -> np.ndarray:
        return self.energy.totals.numpy().copy()

    def set_step(self, step: float) -> None:
        _check(self.temperature_K, step, len(self.positions))
        self.step_size = float(step)

    def step(self) -> np.ndarray:
        """One proposal per chain; returns which were accepted (chains,) bool."""
        chains, natoms = self.positions.shape[:2]
        rows = np.arange(chains)
        moved = self.rng.integers(0, natoms, chains)
        old = self.positions[rows, moved]
        new = old + self.rng.uniform(-self.step_size, self.step_size, (chains, 2))
        reach = [h + math.ceil(self.step_size / p) + 1 for h, p in zip(self.halfwidth, self.pixel)]
        box = tuple(2 * r + 1 for r in reach)
        corners = torch.as_tensor(np.floor(old / self.pixel).astype(np.int64) - reach)
        weights, channel = self.weights[moved], self.channel[moved]
        rows_t = torch.as_tensor(rows)
        patch = (
            self.energy.values(rows_t, corners, box)
            - single_atom_boxes(
                torch.as_tensor(old), weights, channel, self.nchannels, self.pixel, corners, box, self.imaging.gamma
            )
            + single_atom_boxes(
                torch.as_tensor(new), weights, channel, self.nchannels, self.pixel, corners, box, self.imaging.gamma
            )
        )
        proposal = self.energy.propose(rows_t, corners, patch)
        delta = proposal.delta.numpy()
        accepted = self.rng.random(chains) < np.exp(-self.beta * np.maximum(delta, 0.0))
        self.energy.accept(proposal, torch.as_tensor(accepted))
        self.positions[rows[accepted], moved[accepted]] = new[accepted] % self.lengths
        return accepted

    def structures(self) -> list[Atoms]:
        """The chains' current structures (z as in the starting structure)."""
        return [
            Atoms(numbers=self.numbers, positions=np.column_stack([xy, self.z]), cell=self.cell, pbc=True)
            for xy in self.positions
        ]


def _rng_to_text(rng: np.random.Generator) -> str:
    return json.dumps(rng.bit_generator.state)


def _rng_from_text(text: str) -> np.random.Generator:
    state = json.loads(text)
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def run_atom_mc(
    model: EDNN,
    atoms: Atoms,
    out: Path,
    *,
    temperature_K: float,
    steps: int,
    chains: int = 8,
    step: float = 0.05,
    target_acceptance: float = 0.4,
    equilibration: int = 2000,
    sample_every: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> dict:
    """Run `chains` chains for `steps` steps each, storing samples in the HDF5 file `out`.

    During the first `equilibration` steps the step size (Å) is tuned every TUNE_EVERY steps towards
    `target_acceptance`, then frozen. Every `sample_every` steps (default: one sweep, natoms
    steps) the positions (chains, natoms, 2) and energies (chains,) of all chains, the step
    size, the acceptance since the last sample and the random generator's state are appended
    and flushed: a killed run, started again with the same arguments, continues from its last
    sample; the settings and `model.identity()` are stored, and a resume with others raises
    EDNNError. Returns {"steps_run", "step_size", "acceptance"}: acceptance is the fraction of moves
    accepted after equilibration, None while the run has taken no step after it.
    """
    _check(temperature_K, step, chains)
    if steps < 1 or equilibration < 0:
        raise EDNNError(f"need steps >= 1 and equilibration >= 0, got {steps} and {equilibration}")
    if not 0 < target_acceptance < 1:
        raise EDNNError(f"target acceptance must lie strictly between 0 and 1, got {target_acceptance}")
    sample_every = len(atoms) if sample_every is None else sample_every
    if sample_every < 1:
        raise EDNNError(f"sample interval must be >= 1 step, got {sample_every}")
    settings = {
        "format": FORMAT,
        "temperature_K": float(temperature_K),
        "chains": chains,
        "seed": seed,
        "equilibration": equilibration,
        "sample_every": sample_every,
        "target_acceptance": float(target_acceptance),
        "natoms": len(atoms),
        "model": model.identity(),
    }
    # a new run's model, elements and cell are checked before its file exists (no empty file left)
    fresh = (
        None
        if Path(out).exists()
        else AtomMetropolis(model, atoms, chains, temperature_K, step, np.random.default_rng(seed))
    )
    with _open_samples(Path(out), settings, atoms) as samples:
        if len(samples["step"]):
            done = int(samples["step"][-1])
            mc = AtomMetropolis(
                model,
                atoms,
                chains,
                temperature_K,
                float(samples["step_size"][-1]),
                _rng_from_text(samples.attrs["rng_state"]),
                positions=samples["positions"][-1],
            )
        else:
            done = 0
            mc = fresh or AtomMetropolis(model, atoms, chains, temperature_K, step, np.random.default_rng(seed))
            _append(samples, 0, mc, float("nan"))
        window = window_steps = since_sample = 0
        with tqdm(total=steps, initial=done, unit="step", disable=not progress, desc="MC") as bar:
            for k in range(done + 1, steps + 1):
                accepted = int(mc.step().sum())
                window, window_steps, since_sample = window + accepted, window_steps + 1, since_sample + accepted
                if k <= equilibration and k % TUNE_EVERY == 0:
                    rate = window / (window_steps * chains)
                    mc.set_step(min(MAX_STEP, mc.step_size * min(2.0, max(0.5, rate / target_acceptance))))
                    window = window_steps = 0
                    bar.set_postfix(step=f"{mc.step_size:.4f} Å", acceptance=f"{rate:.2f}")
                if k % sample_every == 0 or k == steps:
                    interval = k - int(samples["step"][-1])
                    _append(samples, k, mc, since_sample / (interval * chains))
                    since_sample = 0
                    bar.update(k - bar.n)
        production = samples["step"][:] > equilibration
        rates, counts = samples["acceptance"][:][production], np.diff(samples["step"][:])[production[1:]]
        acceptance = float(np.sum(rates * counts) / counts.sum()) if counts.sum() else None
    return {"steps_run": max(0, steps - done), "step_size": mc.step_size, "acceptance": acceptance}


def _open_samples(path: Path, settings: dict, atoms: Atoms) -> h5py.File:
    """The sample file, new or checked to belong to the same run."""
    if path.suffix not in (".h5", ".hdf5"):
        raise EDNNError(f"{path}: the MC sample file name must end in .h5 or .hdf5")
    if path.exists():
        try:
            with h5py.File(path, "r") as existing:  # read first: mode "a" would turn any file into HDF5
                ours = existing.attrs.get("format") == FORMAT and "numbers" in existing
        except OSError:
            ours = False
        if not ours:
            raise EDNNError(f"{path} holds no ednn MC run; choose a new file")
        try:
            samples = h5py.File(path, "a")
        except OSError as exc:
            raise EDNNError(f"{path}: cannot open it as HDF5 ({exc})") from None
        start = None
        if samples.attrs["natoms"] == len(atoms):
            xy = samples["positions"][0, 0] if len(samples["step"]) else atoms.positions[:, :2]
            first = Atoms(
                numbers=samples["numbers"][:],
                positions=np.column_stack([xy, samples["z"][:]]),
                cell=samples["cell"][:],
                pbc=True,
            )
            start = structure_difference(first, atoms)
        try:
            check_resume(
                samples.attrs,
                settings,
                f"{path} holds an MC run",
                "choose a new file or the same settings",
                SETTINGS,
                also=[start],
            )
        except EDNNError:
            samples.close()
            raise
        return samples
    samples = h5py.File(path, "w")
    samples.attrs.update(settings)
    samples["numbers"] = atoms.numbers
    samples["cell"] = atoms.cell.array
    samples["z"] = atoms.positions[:, 2]
    n, c = len(atoms), settings["chains"]
    samples.create_dataset("step", (0,), maxshape=(None,), dtype=np.int64)
    samples.create_dataset("positions", (0, c, n, 2), maxshape=(None, c, n, 2), chunks=(1, c, n, 2), dtype=np.float64)
    samples.create_dataset("energy", (0, c), maxshape=(None, c), dtype=np.float64)
    samples.create_dataset("step_size", (0,), maxshape=(None,), dtype=np.float64)
    samples.create_dataset("acceptance", (0,), maxshape=(None,), dtype=np.float64)
    return samples


def _append(samples: h5py.File, step: int, mc: AtomMetropolis, acceptance: float) -> None:
    k = len(samples["step"])
    values = {
        "positions": mc.positions,
        "energy": mc.energies,
        "step_size": mc.step_size,
        "acceptance": acceptance,
        "step": step,
    }
    for name, value in values.items():
        samples[name].resize(k + 1, axis=0)
        samples[name][k] = value
    samples.attrs["rng_state"] = _rng_to_text(mc.rng)
    samples.flush()


def read_samples(path: Path, *, production_only: bool = True) -> tuple[list[Atoms], np.ndarray]:
    """Structures and energies (eV) of every chain's samples in an MC sample file."""
    with h5py.File(path, "r") as samples:
        keep = samples["step"][:] > (samples.attrs["equilibration"] if production_only else -1)
        positions, energy = samples["positions"][keep], samples["energy"][keep]
        numbers, cell, z = samples["numbers"][:], samples["cell"][:], samples["z"][:]
    structures = [
        Atoms(numbers=numbers, positions=np.column_stack([xy, z]), cell=cell, pbc=True)
        for frame in positions
        for xy in frame
    ]
    return structures, energy.reshape(-1)
