"""End-to-end steps shared by the command line and the benchmarks.

train_on_file: a grid data file → a trained, saved model with its provenance.
evaluate_on_file: a model and a labelled grid file → error summary (and plots).
"""

from __future__ import annotations

import datetime
import json
import math
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import lightning as L
import numpy as np
import torch

import ednn
from ednn.analysis.metrics import error_summary
from ednn.atoms.images import AtomImaging
from ednn.atoms.model import AtomEDNN
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.core.nets import build_tile_net
from ednn.core.readout import make_readout
from ednn.core.tiling import Padding
from ednn.io import fingerprints
from ednn.io.atomic import write_text
from ednn.io.grids import read_grids
from ednn.io.model_file import load, model_config, save_model
from ednn.io.paths import file_digest, make_parent
from ednn.io.run_record import check_resume
from ednn.io.splits import split_indices
from ednn.train.fit import GridSet, RefreshGrids, fit, fit_target_scaling, holds_run


def discrete_values(x: np.ndarray, at_most: int = 16) -> list[float] | None:
    """The distinct values of grid data x if there are at most `at_most` (spins, occupations:
    a model trained on them knows no others), else None."""
    values = np.unique(x)
    return values.astype(float).tolist() if len(values) <= at_most else None


def build_model(
    x: np.ndarray,
    focus: int,
    context: int,
    net: str = "dense",
    ndim: int | None = None,
    padding: Padding = "periodic",
    outputs: int = 1,
    target: str = "energy",
    net_options: dict | None = None,
    readout: str | None = None,
    imaging: AtomImaging | None = None,
) -> EDNN:
    """An untrained EDNN for grids like x (N, *spatial) or (N, *spatial, C).

    `ndim` says how many axes are spatial; by default all axes after N, except a
    trailing axis of size 1 or one that would make more than 3 spatial axes (channels).
    `net_options`: the tile network's constructor options (`ednn.core.nets.net_options`).
    `readout`: see `ednn.core.target.Target` (the net then gives the readout's raw values); `imaging`: the
    `AtomImaging` that rendered x, for a model of atoms (an `AtomEDNN`).
    """
    if ndim is None:
        trailing_channels = x.ndim > 4 or (x.ndim >= 3 and x.shape[-1] == 1)
        ndim = x.ndim - 2 if trailing_channels else x.ndim - 1
    if x.ndim not in (ndim + 1, ndim + 2):
        raise EDNNError(f"data 'x' of shape {x.shape} does not hold {ndim}-D grids")
    channels = 1 if x.ndim == ndim + 1 else x.shape[-1]
    raw_outputs = outputs if readout is None else make_readout(readout).raw
    tile_net = build_tile_net(
        net, focus, context, ndim=ndim, channels=channels, outputs=raw_outputs, **(net_options or {})
    )
    targets = [target] if outputs == 1 else [f"{target}_{i}" for i in range(outputs)]
    options = dict(ndim=ndim, channels=channels, outputs=outputs, padding=padding, targets=targets, readout=readout)
    if imaging is not None:
        return AtomEDNN(tile_net, focus, context, imaging=imaging, **options)
    return EDNN(tile_net, focus, context, **options)


def warm_start(model: EDNN, init: str | Path) -> dict:
    """Copy the weights and the target scaling of the trained model file `init` into
    `model` (fine-tuning); both must have the same tile network, geometry and imaging.
    Returns {'file', 'sha256_16'} of `init` for the provenance."""
    init = Path(init)
    start = load(init)
    here, there = model_config(model), model_config(start)
    changed = [
        f"{key} {there[key]} there, {here[key]} here"
        for key in ("net", "focus", "context", "ndim", "channels", "outputs", "padding", "imaging", "readout")
        if here[key] != there[key]
    ]
    if changed:
        raise EDNNError(f"--init {init.name} does not match this run's network and images: {'; '.join(changed)}")
    model.load_state_dict(start.state_dict())
    return {"file": init.name, "sha256_16": file_digest(init)}


def _check_run_settings(run_dir: Path, settings: dict, resume: bool) -> None:
    """Record a run's settings; on resume, refuse settings that differ from the recorded ones."""
    record = run_dir / "settings.json"
    if not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        if not holds_run(run_dir):  # fit refuses to start over a run: keep the settings it was made with
            write_text(record, json.dumps(settings, indent=2))
        return
    if not record.is_file():
        raise EDNNError(f"{run_dir} holds no settings.json to resume from")
    check_resume(
        json.loads(record.read_text()), settings, f"{run_dir} holds a run", "--resume must repeat the run's settings"
    )


def train_on_file(
    data: str | Path,
    out: str | Path,
    run_dir: str | Path,
    *,
    focus: int,
    context: int,
    net: str = "dense",
    ndim: int | None = None,
    padding: Padding = "periodic",
    epochs: int = 100,
    batch_size: int = 2000,
    lr: float = 1e-3,
    lr_min: float = 1e-6,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    limit: int | None = None,
    target: str = "energy",
    resume: bool = False,
    progress: bool = True,
    net_options: dict | None = None,
    init: str | Path | None = None,
    readout: str | None = None,
    accelerator: str = "cpu",
    devices: int | str = 1,
    callbacks: Sequence[L.Callback] = (),
) -> EDNN:
    """Train on the train split of `data`, save to `out`; test metrics go into the model's info.

    The run's settings are kept in run_dir/settings.json; `resume` continues the run
    from its last checkpoint and refuses settings that differ. `init`: start from that
    trained model file (see `warm_start`); `readout`: see `ednn.core.target.Target`; `accelerator`,
    `devices`, `callbacks` (e.g. progress lines of one's own): see `fit`.
    """
    data, run_dir = Path(data), Path(run_dir)
    x, y, _ = read_grids(data, target=target, require_target=True)
    digest = file_digest(data)
    settings = dict(
        data_sha256_16=digest,
        limit=limit,
        target=target,
        focus=focus,
        context=context,
        net=net,
        net_options=dict(net_options or {}),
        ndim=ndim,
        padding=padding,
        readout=readout,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lr_min=lr_min,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        devices=devices,  # processes share each epoch's batches: another count is another run
    )
    if limit is not None:
        x, y = x[:limit], y[:limit]
    split = split_indices(len(x), seed, val_fraction, test_fraction)
    torch.manual_seed(seed)
    outputs = 1 if np.ndim(y) == 1 else np.shape(y)[1]
    model = build_model(
        x, focus, context, net, ndim, padding, outputs=outputs, target=target, net_options=net_options, readout=readout
    )
    data_info = {
        "file": data.name,
        "sha256_16": digest,
        "target": target,
        "n_examples": int(len(x)),
        "spatial_shape": list(x.shape[1 : 1 + model.ndim]),
        "input_values": discrete_values(x),
    }
    return train_arrays(
        model,
        x,
        y,
        split,
        out,
        run_dir,
        settings=settings,
        data_info=data_info,
        resume=resume,
        progress=progress,
        init=init,
        accelerator=accelerator,
        callbacks=callbacks,
    )


def train_arrays(
    model: EDNN,
    x: np.ndarray,
    y: np.ndarray,
    split: dict[str, np.ndarray],
    out: str | Path,
    run_dir: Path,
    *,
    settings: dict,
    data_info: dict,
    resume: bool,
    progress: bool,
    offsets: str = "site",
    augment: bool = False,
    refresh_train: Callable[[int], np.ndarray] | None = None,
    huber: float | None = None,
    test_metrics: Callable[[EDNN], dict] | None = None,
    init: str | Path | None = None,
    accelerator: str = "cpu",
    seen: dict | None = None,
    callbacks: Sequence[L.Callback] = (),
) -> EDNN:
    """Fit target scaling (`offsets`, see `fit_target_scaling`) or take weights and scaling
    from the trained model file `init` (`warm_start`), train on split['train']
    (with `augment` and `huber`, see `fit`; `refresh_train(epoch)` gives new training grids each epoch),
    monitor split['val'], record provenance and test metrics in model.info, save to `out`.
    `test_metrics(model)` replaces the default per-site summary of split['test'];
    `accelerator`, `callbacks` (extra Lightning callbacks): see `fit`. `seen`: the training and
    validation examples' fingerprints (`EDNN.training_fingerprints`; by default those of the grids
    x). The run's schedule (epochs, batch_size, lr, lr_min, seed, devices) is read from `settings`,
    the record a resume is checked against: one place for each value."""
    train, val = (GridSet.from_numpy(model, x[split[k]], y[split[k]]) for k in ("train", "val"))
    started_from = None
    if init is None:
        fit_target_scaling(model, train, offsets)
    else:
        started_from = warm_start(model, init)
        settings = {**settings, "init": started_from}
    make_parent(out)  # a bad output path fails now, not after training
    _check_run_settings(run_dir, settings, resume)  # only once every input has been checked
    callbacks = [*([RefreshGrids(train, refresh_train)] if refresh_train else []), *callbacks]
    run = fit(
        model,
        train,
        val,
        run_dir,
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        lr=settings["lr"],
        lr_min=settings["lr_min"],
        seed=settings["seed"],
        resume=resume,
        progress=progress,
        augment=augment,
        callbacks=callbacks,
        huber=huber,
        initialise=init is None,
        accelerator=accelerator,
        devices=settings["devices"],
    )
    model.eval()
    sessions = run_dir / "sessions.json"  # wall time of every session of this run, resumes included
    seconds = (json.loads(sessions.read_text()) if resume and sessions.is_file() else []) + [round(run["seconds"], 1)]
    write_text(sessions, json.dumps(seconds))
    test = split["test"]
    model.info = {
        "data": data_info,
        "split": {
            "seed": settings["seed"],
            "val_fraction": settings["val_fraction"],
            "test_fraction": settings["test_fraction"],
            "n_train": len(split["train"]),
            "n_val": len(split["val"]),
            "n_test": len(test),
        },
        "training": {
            "epochs": settings["epochs"],
            "batch_size": settings["batch_size"],
            "optimizer": "Adam",
            "loss": f"Huber (delta {huber} × scale)" if huber else "MSE",
            "augment": "periodic pixel shifts and axis flips" if augment else None,
            "lr": settings["lr"],
            "lr_min": settings["lr_min"],
            "schedule": "cosine per step",
            "wall_seconds": round(sum(seconds), 1),
            "sessions": len(seconds),
            "started_from": started_from,
        },
        "test_metrics": (
            {} if not len(test) else test_metrics(model) if test_metrics else errors(model, x[test], y[test])["summary"]
        ),
        "made_with": {
            "ednn": ednn.__version__,
            "torch": torch.__version__,
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
            "date": datetime.date.today().isoformat(),
        },
    }
    model.training_fingerprints = seen or {
        "kind": "grids-v1",
        **{key: fingerprints.grid_fingerprints(x[split[key]]) for key in ("train", "val")},
    }
    save_model(model, out)
    return model


def errors(model: EDNN, x: np.ndarray, y: np.ndarray) -> dict:
    """Predict x and compare with targets y: {'summary', 'predicted', 'true'}.

    summary: `error_summary` (target's unit) plus n_sites, seconds and sites_per_second.
    """
    start = time.perf_counter()
    predicted = model.predict(x)
    seconds = time.perf_counter() - start
    n_sites = math.prod(x.shape[1 : 1 + model.ndim])
    summary = error_summary(predicted, y, n_sites)
    summary.update(n_sites=n_sites, seconds=seconds, sites_per_second=len(x) * n_sites / max(seconds, 1e-12))
    return {"summary": summary, "predicted": predicted, "true": np.asarray(y, float)}


def recorded_split(model: EDNN, data: str | Path) -> dict:
    """The split {'seed', 'val_fraction', 'test_fraction', …} that `model` records, once `data`
    is checked to be the file it was trained on."""
    data = Path(data)
    recorded = model.info.get("split")
    if not recorded or "sha256_16" not in model.info.get("data", {}):
        raise EDNNError("this model records no split; evaluate on the whole file instead")
    if file_digest(data) != model.info["data"]["sha256_16"]:
        raise EDNNError(
            f"--split needs the file the model was trained on ({model.info['data']['file']}); "
            f"{data.name} is a different file"
        )
    return recorded


def evaluate_on_file(model: EDNN | str | Path, data: str | Path, split: str | None = None) -> dict:
    """`errors` of `model` on a labelled grid file, with the grids' `fingerprints`
    (`ednn.io.fingerprints`); `split='test'` uses the model's own test split."""
    model = load(model) if not isinstance(model, EDNN) else model
    x, y, _ = read_grids(data, target=model.info.get("data", {}).get("target", "energy"), require_target=True)
    if split is not None:
        recorded = recorded_split(model, data)
        x, y = x[: model.info["data"]["n_examples"]], y[: model.info["data"]["n_examples"]]
        index = split_indices(len(x), recorded["seed"], recorded["val_fraction"], recorded["test_fraction"])[split]
        x, y = x[index], y[index]
    return {**errors(model, x, y), "fingerprints": fingerprints.grid_fingerprints(x)}
