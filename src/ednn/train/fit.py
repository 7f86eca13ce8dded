"""Training with Lightning: loss (MSE) on the summed, scaled tile outputs.

A run folder holds `checkpoints/` (the latest epoch's, linked as `last.ckpt` to resume; each file
written under a temporary name and renamed, so a killed run leaves a whole one), CSV logs in
`logs/version_<k>/metrics.csv`, one per session (and TensorBoard ones when tensorboard
is installed). Shuffling depends only on
(seed, epoch), so a run killed mid-epoch and resumed from its last checkpoint
repeats exactly what an uninterrupted run does.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import shutil
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, Dataset, Sampler

from ednn.analysis.metrics import error_summary
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.tile_codes import decode_tiles, encode_tiles
from ednn.core.tiling import pad
from ednn.io.atomic import atomic_path

#: Training grids a network's data-dependent `initialise` (if it has one) sees.
INITIALISE_EXAMPLES = 48

# Lightning's start-up notes (no GPU, logger tips) are noise for ednn's users.
for _name in ("lightning.pytorch", "lightning.fabric"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@dataclass
class GridSet:
    """Grids x (N, C, *spatial) float32 and physical targets y (N, outputs) float64."""

    x: torch.Tensor
    y: torch.Tensor

    @classmethod
    def from_numpy(cls, model: EDNN, x: np.ndarray, y: np.ndarray) -> GridSet:
        """Check x (N, *spatial[, C]) against the model and y (N,) or (N, outputs) for NaN."""
        grid = model.as_grid(x)
        xt = torch.as_tensor(grid, dtype=torch.float32).movedim(-1, 1).contiguous()
        yt = torch.as_tensor(np.asarray(y, dtype=np.float64)).reshape(len(grid), -1)
        if yt.shape[1] != model.outputs:
            raise EDNNError(f"targets have {yt.shape[1]} columns; the model has {model.outputs} outputs")
        if not torch.isfinite(yt).all():
            raise EDNNError("targets contain NaN or infinite values")
        return cls(xt, yt)

    @property
    def n_sites(self) -> int:
        return math.prod(self.x.shape[2:])

    @property
    def intensity(self) -> torch.Tensor:
        """(N, C) float64: each channel summed over the grid."""
        return self.x.sum(tuple(range(2, self.x.dim())), dtype=torch.float64)

    def __len__(self) -> int:
        return len(self.x)


def fit_target_scaling(model: EDNN, train: GridSet, offsets: str = "site") -> None:
    """Set the model's extensive offsets and its scale (std of what the offsets leave).

    offsets='site': the mean target per site. offsets='intensity': least squares of the
    targets on each channel's summed intensity (for atom images with a channel per
    element: a reference energy per atom of each element). Both are extensive-safe: the
    offsets grow with the system, the scale is a plain factor.
    """
    if offsets == "site":
        model.target.offset_per_site.copy_((train.y / train.n_sites).mean(0))
    elif offsets == "intensity":
        solution = torch.linalg.lstsq(train.intensity, train.y).solution  # (C, outputs)
        model.target.offset_per_intensity.copy_(solution.T)
    else:
        raise EDNNError(f"offsets must be 'site' or 'intensity', got {offsets!r}")
    rest = train.y - model.target.offsets(train.n_sites, train.intensity)
    scale = rest.std(0) if len(train) > 1 else torch.ones(model.outputs, dtype=torch.float64)
    model.target.scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))


@dataclass
class TilePatterns:
    """The distinct tiles of a data set of discrete grids, and where each occurs.

    patterns: (P, C, *t); index: (N, n_tiles) positions into `patterns`. With few
    distinct tiles (at most 512 for Ising spins with f=1, c=1) the network runs on
    the P patterns once per step instead of on every tile of the batch; the sums,
    the loss and the gradients are the same.
    """

    patterns: torch.Tensor
    index: torch.Tensor

    def to(self, device: torch.device) -> TilePatterns:
        return TilePatterns(self.patterns.to(device), self.index.to(device))

    @classmethod
    def find(cls, model: EDNN, data: GridSet, batch_size: int, max_values: int = 16) -> TilePatterns | None:
        """Patterns of `data`, or None when its grids are not discrete or patterns would not save work.

        Each tile is encoded as an integer (`ednn.core.tile_codes`), so finding the distinct
        tiles is a 1-D `unique`.
        """
        if len(torch.unique(data.x[: min(len(data), 256)])) > max_values:
            return None
        values = torch.unique(data.x)
        if model.padding == "zeros" and model.context > 0:  # padded tiles hold zeros too
            values = torch.unique(torch.cat([values, values.new_zeros(1)]))
        bits = max(1, math.ceil(math.log2(len(values))))
        width = model.channels * model.tile**model.ndim
        if len(values) > max_values or width * bits > 62:
            return None
        keys = [
            encode_tiles(
                torch.searchsorted(values, model.tiles(chunk).reshape(len(chunk), -1, width).contiguous()), bits
            )
            for chunk in data.x.split(4096)
        ]
        unique_keys, index = torch.unique(torch.cat(keys), return_inverse=True)
        tiles_per_example = index.shape[1]
        if len(unique_keys) > min(batch_size, len(data)) * tiles_per_example // 4:
            return None
        patterns = values[decode_tiles(unique_keys, width, bits)]
        return cls(patterns.reshape(len(patterns), model.channels, *[model.tile] * model.ndim), index)


class _Batches(Dataset):
    def __init__(self, data: GridSet, model: EDNN):
        self.x = data.x
        self.y = model.target.to_scaled(data.y, data.n_sites, data.intensity)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return index, self.x[index], self.y[index]


class EpochShuffle(Sampler):
    """Yields index batches of a permutation that depends only on (seed, epoch).

    With `processes` > 1 (data-parallel training) each process takes every processes-th
    batch, starting at its rank, the list wrapped round so that every process gets as many."""

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool = True, processes: int = 1):
        self.n, self.batch_size, self.seed, self.shuffle, self.epoch = n, batch_size, seed, shuffle, 0
        self.processes = processes

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[torch.Tensor]:
        if self.shuffle:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch))
        else:
            order = torch.arange(self.n)
        batches = order.split(self.batch_size)
        if self.processes == 1:
            yield from batches
            return
        rank = torch.distributed.get_rank()
        yield from [batches[k % len(batches)] for k in range(rank, len(self) * self.processes, self.processes)]

    def __len__(self) -> int:
        return math.ceil(math.ceil(self.n / self.batch_size) / self.processes)


class RefreshGrids(L.Callback):
    """Replace a data set's grids in place at the start of every training epoch with
    `make(epoch)` (N, *spatial, C): e.g. the same structures rendered at new random
    translations (augmentation that keeps the targets)."""

    def __init__(self, data: GridSet, make: Callable[[int], np.ndarray]):
        self.data, self.make = data, make

    def on_train_epoch_start(self, trainer: L.Trainer, _: L.LightningModule) -> None:
        self.data.x.copy_(torch.from_numpy(self.make(trainer.current_epoch)).movedim(-1, 1))


def _loader(data: GridSet, model: EDNN, batch_size: int, seed: int, shuffle: bool, processes: int = 1) -> DataLoader:
    return DataLoader(
        _Batches(data, model), batch_size=None, sampler=EpochShuffle(len(data), batch_size, seed, shuffle, processes)
    )


class EDNNTask(L.LightningModule):
    """Adam on the MSE of scaled sums, cosine learning-rate decay per step."""

    def __init__(
        self,
        model: EDNN,
        lr: float,
        lr_min: float,
        total_steps: int,
        val: GridSet,
        patterns: dict[str, TilePatterns | None],
        augment: bool = False,
        seed: int = 0,
        huber: float | None = None,
    ):
        super().__init__()
        self.model, self.lr, self.lr_min, self.total_steps = model, lr, lr_min, total_steps
        self.huber = huber
        self.augment, self.seed = augment, seed
        self.val_y, self.n_sites_val = val.y, val.n_sites  # float64 targets for the metrics
        self.val_intensity = val.intensity
        self.patterns = patterns
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_fit_start(self) -> None:
        self.patterns = {
            stage: None if table is None else table.to(self.device) for stage, table in self.patterns.items()
        }

    def _sums(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        index, x, _ = batch
        table = self.patterns[stage]
        if table is None:
            # one network call for the whole batch: autograd through prediction's cache-sized calls
            # ran 2.3× slower (3-D Ising, 51 200 3×3×3 tiles, 2 cores)
            return self.model(x, cache_sized=False)
        values = self.model.tile_terms(table.patterns)
        return self.model.target.combine(values[table.index[index]].sum(1))

    def _augmented(self, batch: tuple[torch.Tensor, ...], step: int) -> tuple[torch.Tensor, ...]:
        """The batch shifted periodically by whole pixels and flipped along each axis at
        random; the draw depends only on (seed, epoch, step), so a resumed run repeats it."""
        index, x, y = batch
        rng = torch.Generator().manual_seed(self.seed * 1_000_003 + self.current_epoch * 100_003 + step)
        spatial = list(range(2, x.dim()))
        shifts = [int(torch.randint(n, (1,), generator=rng)) for n in x.shape[2:]]
        x = torch.roll(x, shifts, spatial)
        flips = [d for d in spatial if bool(torch.randint(2, (1,), generator=rng))]
        return index, (torch.flip(x, flips) if flips else x), y

    def training_step(self, batch: tuple[torch.Tensor, ...], step: int) -> torch.Tensor:
        if self.augment and self.patterns["train"] is None:
            batch = self._augmented(batch, step)
        pred = self._sums(batch, "train")
        loss = (
            torch.nn.functional.huber_loss(pred, batch[2], delta=self.huber)
            if self.huber
            else torch.nn.functional.mse_loss(pred, batch[2])
        )
        self.log(
            "train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(batch[0]), sync_dist=True
        )
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], _: int) -> None:
        index, _, y = batch
        pred = self._sums(batch, "val")
        self.log("val_loss", torch.nn.functional.mse_loss(pred, y), prog_bar=True, batch_size=len(y), sync_dist=True)
        self._val.append((pred.detach(), index.cpu()))

    def on_validation_epoch_end(self) -> None:
        pred = torch.cat([p for p, _ in self._val])
        index = torch.cat([i for _, i in self._val])
        self._val.clear()
        n = self.n_sites_val
        physical = self.model.target.to_physical(pred, n, self.val_intensity[index].to(pred.device))
        errors = error_summary(physical.cpu().numpy(), self.val_y[index].numpy(), n)
        self.log("val_medae_per_system", errors["median_abs_per_system"], prog_bar=True, sync_dist=True)
        self.log("val_mae_per_system", errors["mean_abs_per_system"], sync_dist=True)

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        ratio = self.lr_min / self.lr

        def factor(step: int) -> float:
            progress = min(step / max(1, self.total_steps), 1.0)
            return ratio + (1 - ratio) * 0.5 * (1 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class _EpochBar(TQDMProgressBar):
    """Lightning's progress bar without the flashing per-epoch validation bar, counting epochs
    from 1 like the log lines ("epoch 3/300"), without the logger's version number."""

    def init_validation_tqdm(self) -> Tqdm:
        return Tqdm(disable=True)

    def on_train_epoch_start(self, trainer: L.Trainer, *_: object) -> None:
        bar = self.train_progress_bar
        bar.set_description(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}", refresh=False)
        bar.reset(total=self.total_train_batches)  # batches of this epoch; shown once, already named

    def get_metrics(self, trainer: L.Trainer, task: L.LightningModule) -> dict:
        metrics = super().get_metrics(trainer, task)
        metrics.pop("v_num", None)
        return metrics


class _AtomicCheckpoint(ModelCheckpoint):
    """Lightning's epoch checkpoints, each written under a temporary name and renamed, and
    `last.ckpt` moved onto each new one (by a rename too) before the one before is removed: a run
    killed at any moment leaves `last.ckpt` naming a whole epoch."""

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        if trainer.is_global_zero:  # the one process that writes
            with atomic_path(filepath) as partial:
                super()._save_checkpoint(trainer, str(partial))
            _relink(Path(filepath).with_name("last.ckpt"), Path(filepath))
        else:
            super()._save_checkpoint(trainer, filepath)
        self._last_checkpoint_saved = filepath


def _relink(link: Path, target: Path) -> None:
    """Make `link` a symbolic link to `target` (a copy where links are not allowed) by a rename:
    it names the old target or the new one, never nothing."""
    partial = link.with_name(link.name + ".tmp")
    partial.unlink(missing_ok=True)
    try:
        partial.symlink_to(os.path.relpath(target, link.parent))
    except OSError:  # Windows without the right to make links
        shutil.copyfile(target, partial)
    os.replace(partial, link)


def _epoch_order(path: Path) -> tuple[int, int] | None:
    """(epoch, version) of a checkpoint named epoch<k>[-v<n>].ckpt, else None."""
    match = re.fullmatch(r"epoch(\d+)(?:-v(\d+))?\.ckpt", path.name)
    return None if match is None else (int(match[1]), int(match[2] or 0))


def _epoch_checkpoints(folder: Path) -> list[Path]:
    """The epoch checkpoints in `folder`, newest first."""
    found = [path for path in folder.glob("epoch*.ckpt") if _epoch_order(path) is not None]
    return sorted(found, key=_epoch_order, reverse=True)


def holds_run(run_dir: str | Path) -> bool:
    """True when `run_dir` holds checkpoints of a run (`last.ckpt`, or an epoch one that a kill
    while saving left without it): a new run there needs --resume or another folder."""
    last = Path(run_dir) / "checkpoints" / "last.ckpt"
    return last.is_file() or bool(_epoch_checkpoints(last.parent))


def _damage(path: Path) -> str | None:
    """Why `path` is not a whole training checkpoint (loaded without running code), or None."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated, empty, overwritten, crafted: whatever the reader trips on
        crafted = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        if isinstance(error, pickle.UnpicklingError) and crafted:
            raise EDNNError(
                f"{path} holds more than training state (it calls {crafted[1]}): refused, "
                "checkpoints are loaded without running code"
            ) from None
        return (str(error).strip().splitlines() or [type(error).__name__])[0].split(". ")[0][:80]
    if not isinstance(state, dict) or not {"epoch", "state_dict", "loops"} <= state.keys():
        return "not a training checkpoint"
    return None


def _resume_point(folder: Path) -> None:
    """Make `folder`/last.ckpt name the newest whole epoch checkpoint there, with a line on stderr
    when it named another (a run killed while saving) or a damaged one; a one-line error when none is whole."""
    last = folder / "last.ckpt"
    copy = last.is_file() and not last.is_symlink()  # where links are not allowed
    candidates = [last] * copy + _epoch_checkpoints(folder)
    if not candidates:
        missing = f"names {os.readlink(last)}, which does not exist" if last.is_symlink() else "does not exist"
        raise EDNNError(f"nothing to resume: {last} {missing}")
    damaged = []
    for path in candidates:
        reason = _damage(path)
        if reason is None:
            break
        linked = last.is_symlink() and last.resolve() == path.resolve()
        damaged.append(f"{last.name} → {path.name} ({reason})" if linked else f"{path.name} ({reason})")
    else:
        raise EDNNError(
            f"cannot resume: damaged checkpoint in {folder}: {'; '.join(damaged)}; no older epoch is whole: "
            f"delete {folder} to train this run from the start"
        )
    if damaged:
        print(f"warning: damaged checkpoint {'; '.join(damaged)}: resuming from {path.name}", file=sys.stderr)
    if path != last and not (last.is_file() and last.resolve() == path.resolve()):
        if not damaged:
            named = f"named {os.readlink(last)}" if last.is_symlink() else "was missing"
            print(f"warning: {last} {named} (a run killed while saving): resuming from {path.name}", file=sys.stderr)
        _relink(last, path)


class _EpochLines(L.Callback):
    """One line per finished epoch on stderr, for logs (where a progress bar would be noise)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, task: L.LightningModule) -> None:
        if not trainer.is_global_zero:  # one line from data-parallel processes
            return
        metrics = {name: float(value) for name, value in trainer.callback_metrics.items()}
        print(
            f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: "
            f"train loss {metrics.get('train_loss', math.nan):.4g}, "
            f"validation median |error| {metrics.get('val_medae_per_system', math.nan):.4g} per system, "
            f"{time.perf_counter() - self.start:.0f} s",
            file=sys.stderr,
            flush=True,
        )


def _loggers(run_dir: Path) -> list:
    # one version_<k> folder per session of a run, so resuming keeps earlier logs
    loggers = [CSVLogger(run_dir, name="logs")]
    try:
        import tensorboard  # noqa: F401
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(run_dir, name="tensorboard"))
    except ImportError:
        pass
    return loggers


@torch.no_grad()
def _break_symmetry(model: EDNN) -> None:
    """Give the readout's symmetry-breaking raw value (χ of charge equilibration) a small
    random start in the net's last layer: where it is equal on every site (a zero start)
    its gradient vanishes and it would never move."""
    raw = model.target.readout.raw
    last = [
        m
        for m in model.net.modules()
        if getattr(m, "weight", None) is not None and m.weight.ndim >= 2 and m.weight.shape[0] == raw
    ][-1]
    fan_in = last.weight[0].numel()
    last.weight[model.target.readout.symmetry_breaking].normal_(0.0, 0.1 / math.sqrt(fan_in))


def _trainer(accelerator: str, devices: int | str, **options) -> L.Trainer:
    """A Lightning Trainer on `devices` of `accelerator`, data-parallel in forked processes when
    there are several; a setting Lightning or the machine cannot meet is a one-line error."""
    if accelerator == "cpu" and isinstance(devices, int) and devices > (os.cpu_count() or 1):
        raise EDNNError(f"--devices {devices}: this machine has {os.cpu_count()} CPU cores")
    try:
        trainer = L.Trainer(accelerator=accelerator, devices=devices, **options)
        if trainer.world_size > 1:
            trainer = L.Trainer(accelerator=accelerator, devices=devices, strategy="ddp_fork", **options)
    except (MisconfigurationException, ValueError, RuntimeError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise EDNNError(f"cannot train with accelerator {accelerator!r} on devices {devices!r}: {reason}") from None
    return trainer


def fit(
    model: EDNN,
    train: GridSet,
    val: GridSet,
    run_dir: str | Path,
    *,
    epochs: int,
    batch_size: int = 2000,
    lr: float = 1e-3,
    lr_min: float = 1e-6,
    seed: int = 0,
    resume: bool = False,
    progress: bool = True,
    callbacks: Sequence[L.Callback] = (),
    augment: bool = False,
    huber: float | None = None,
    initialise: bool = True,
    accelerator: str = "cpu",
    devices: int | str = 1,
) -> dict:
    """Train `model` in place; returns {'epochs', 'seconds', 'resumed_from', 'tile_patterns'}.

    augment: shift each training batch periodically by a random whole number of pixels
    and flip it along random axes — only for targets invariant under both (periodic
    atom images, Ising spins); not applied when tile patterns are used. huber: train on the
    Huber loss with this threshold (in units of the target scale) instead of the MSE, so that
    a few wrong labels cannot dominate the gradient; validation loss stays the MSE.
    Checkpoints go to run_dir/checkpoints every epoch; `resume=True` continues from
    run_dir/checkpoints/last.ckpt, or from the newest whole epoch there if it is missing or damaged
    (error if none). Call `fit_target_scaling` first. progress:
    a bar on a terminal, else a line per epoch on stderr.
    `callbacks` are extra Lightning callbacks. initialise: give a network with a
    data-dependent `initialise` its start from the training grids (off to keep weights
    that are already trained). accelerator, devices: Lightning's ('cpu', 'gpu', 'auto' for a GPU
    where there is one; a number of devices, or 'auto'); several devices train data-parallel
    (DDP, forked processes), each on its share of every epoch's batches, so a step sees
    devices × batch_size examples. The model ends on the CPU.
    """
    if epochs < 1 or batch_size < 1:
        raise EDNNError(f"epochs and batch size must be at least 1, got {epochs} and {batch_size}")
    if not 0 < lr_min <= lr:
        raise EDNNError(f"learning rates must satisfy 0 < lr-min <= lr, got lr={lr}, lr-min={lr_min}")
    if len(train) == 0 or len(val) == 0:
        raise EDNNError("training and validation sets must both hold examples")
    run_dir = Path(run_dir)
    last = run_dir / "checkpoints" / "last.ckpt"
    if resume:
        _resume_point(last.parent)
    elif holds_run(run_dir):
        raise EDNNError(f"{run_dir} already holds a run; pass --resume to continue it or choose another run folder")
    L.seed_everything(seed, verbose=False)
    if initialise and not resume and hasattr(model.net, "initialise"):
        model.net.initialise(pad(train.x[:INITIALISE_EXAMPLES], model.context, model.padding))
    if initialise and not resume and model.target.readout is not None:
        _break_symmetry(model)
    bar = progress and sys.stderr.isatty()  # a progress bar on a terminal, a line per epoch in a log
    checkpoints = _AtomicCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="epoch{epoch:04d}",
        auto_insert_metric_name=False,
        save_top_k=1,
        every_n_epochs=1,
    )
    trainer = _trainer(
        accelerator,
        devices,
        max_epochs=epochs,
        logger=_loggers(run_dir),
        callbacks=[checkpoints, *([_EpochBar()] if bar else [_EpochLines()] if progress else []), *callbacks],
        enable_progress_bar=bar,
        enable_model_summary=False,
        use_distributed_sampler=False,
        deterministic=True,
        num_sanity_val_steps=0,
        default_root_dir=run_dir,
    )
    processes = trainer.world_size
    steps_per_epoch = math.ceil(math.ceil(len(train) / batch_size) / processes)
    trainer.log_every_n_steps = max(1, steps_per_epoch)
    patterns = {"train": TilePatterns.find(model, train, batch_size), "val": TilePatterns.find(model, val, batch_size)}
    task = EDNNTask(model, lr, lr_min, epochs * steps_per_epoch, val, patterns, augment, seed, huber)
    start = time.perf_counter()
    sigint = signal.getsignal(signal.SIGINT)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty")
            trainer.fit(
                task,
                _loader(train, model, batch_size, seed, True, processes),
                _loader(val, model, batch_size, seed, False),
                ckpt_path=str(last) if resume else None,
                weights_only=True,  # a checkpoint is data: loading one never runs code
            )
    except SystemExit:  # Lightning exits on Ctrl-C after a graceful shutdown
        if not trainer.interrupted:
            raise
        kept = f"finished epochs are kept in {last}" if last.exists() else "no epoch had finished"
        raise EDNNError(
            f"training interrupted in epoch {trainer.current_epoch}; {kept}; run the same command "
            "again to continue (ednn train: add --resume)"
        ) from None
    finally:
        signal.signal(signal.SIGINT, sigint)  # Lightning leaves Ctrl-C ignored
        model.cpu()
    # forked processes hand back the weights, not the loop's state: their last checkpoint has the epoch
    epochs = trainer.current_epoch if processes == 1 else torch.load(last, weights_only=True)["epoch"] + 1
    return {
        "epochs": epochs,
        "seconds": time.perf_counter() - start,
        "resumed_from": str(last) if resume else None,
        "tile_patterns": patterns["train"] is not None,
    }
