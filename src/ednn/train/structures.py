"""Atoms end to end: a labelled structure file → rendered images → a trained, saved EDNN;
a model and labelled structures → errors in eV, meV/Å² and meV/atom."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from tqdm import tqdm

from ednn.analysis.metrics import atom_error_summary
from ednn.atoms.images import AtomImaging, z_spread_limit
from ednn.atoms.model import shifted
from ednn.core.errors import EDNNError
from ednn.core.model import EDNN
from ednn.io import fingerprints
from ednn.io.paths import file_digest
from ednn.io.splits import split_indices
from ednn.io.structures import StructureFile
from ednn.train.workflow import build_model, recorded_split, train_arrays

#: Tile-network options used for atoms unless given: a smooth MLP (continuous forces).
DEFAULT_NET_OPTIONS = {"dense": {"hidden": [256, 64], "activation": "silu"}}


def render_structures(
    structures: Sequence[Atoms],
    imaging: AtomImaging,
    focus: int,
    progress: bool = False,
    names: Sequence[str] | None = None,
) -> np.ndarray:
    """Images (N, nx, ny, C) float32 of structures that share one grid shape; `names` say
    where each came from in errors (default 'structure k')."""
    images = []
    bar = tqdm(
        structures, desc="render", unit="structure", leave=False, disable=not (progress and sys.stderr.isatty())
    )  # seconds: no lines in a log
    for k, atoms in enumerate(bar):
        try:
            images.append(imaging.image(atoms, focus).numpy())
        except EDNNError as error:
            raise EDNNError(f"{names[k] if names else f'structure {k}'}: {error}") from None
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise EDNNError(f"structures map onto different grids {sorted(shapes)}; train on cells of one size")
    return np.stack(images)


def translated(structures: Sequence[Atoms], rng: np.random.Generator) -> list[Atoms]:
    """Copies moved by a random in-plane translation each (uniform over the cell)."""
    return [shifted(atoms, rng.uniform(0, 1, 2) * [atoms.cell[0, 0], atoms.cell[1, 1]]) for atoms in structures]


def labelled_split(data: StructureFile, seed: int, val_fraction: float, test_fraction: float) -> dict[str, np.ndarray]:
    """The file's fixed split by group (seed), keeping labelled structures only.

    Structures of one group (e.g. the frames of one MD run) stay on one side; files without
    groups have one group per structure, so this is then a split by structure index."""
    groups, member = np.unique(data.group, return_inverse=True)
    by_group = split_indices(len(groups), seed, val_fraction, test_fraction)
    split = {k: np.flatnonzero(np.isin(member, v)) for k, v in by_group.items()}
    usable = data.labelled & ~data.failed
    if not usable.any():
        raise EDNNError(f"{data.path} has no energies; label it first with `ednn label {data.path}`")
    parts = {k: v[usable[v]] for k, v in split.items()}
    empty = [k for k in ("train", "val") if len(parts[k]) == 0]
    if empty:
        raise EDNNError(
            f"only {int(usable.sum())} of {len(data)} structures in {data.path} are labelled, leaving "
            f"the {' and '.join(empty)} split empty; label more (`ednn label {data.path}`)"
        )
    return parts


def areas(structures: Sequence[Atoms]) -> np.ndarray:
    """In-plane cell areas (N,) in Å²."""
    return np.array([abs(np.linalg.det(s.cell.array[:2, :2])) for s in structures])


def train_on_structures(
    data: str | Path,
    out: str | Path,
    run_dir: str | Path,
    *,
    grid: tuple[int, int] = (64, 64),
    focus: int = 16,
    context: int = 8,
    net: str = "dense",
    net_options: dict | None = None,
    per_element: bool = True,
    gamma: float = 0.2,
    epochs: int = 100,
    batch_size: int = 32,
    lr: float = 1e-3,
    lr_min: float = 1e-6,
    seed: int = 0,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    resume: bool = False,
    progress: bool = True,
    augment: bool = False,
    translate: bool = True,
    huber: float | None = None,
    init: str | Path | None = None,
    readout: str | None = None,
    extra_train: Sequence[str | Path] = (),
    accelerator: str = "cpu",
    devices: int | str = 1,
) -> EDNN:
    """Train an EDNN on the labelled structures of an ednn structure file (energies in eV).

    All training cells share one in-plane size, mapped onto `grid` pixels: that fixes
    the model's pixel size. Offsets: a reference energy per element (one channel per
    element) or per unit of Z-weighted intensity, fitted by least squares. augment:
    random periodic whole-pixel shifts and axis flips of each batch (energies are
    invariant under both). translate: every structure is moved by a random in-plane
    translation (validation and test once, with `seed`; training anew each epoch), so the
    model learns energies that do not depend on where the lattice sits on the pixel grid.
    huber: Huber loss threshold in units of the scale (robust to a few wrong labels).
    init: start from this trained model file's weights and offsets (fine-tuning; same
    network, focus, context and imaging, see `ednn.train.workflow.warm_start`).
    readout: None (sum of tile energies) or 'qeq' (charge equilibration, `ednn.core.readout`).
    extra_train: more labelled structure files (same cell, same energy method, not `data`
    nor structures of its generator stream) whose structures all join the training split;
    `data`'s own split stays as it is (`evaluate_structure_file(..., 'train')` covers only
    `data`'s part of it). accelerator, devices: see `ednn.train.fit.fit`.
    """
    data, run_dir = Path(data), Path(run_dir)
    source = StructureFile(data)
    data_digest = file_digest(data)
    split = labelled_split(source, seed, val_fraction, test_fraction)
    used = np.sort(np.concatenate(list(split.values())))
    structures = source.structures(used)
    names = [f"{data.name} structure {i}" for i in used]
    y = source.energy[used]
    position = {int(k): i for i, k in enumerate(used)}
    local = {k: np.array([position[int(i)] for i in v], dtype=int) for k, v in split.items()}
    extra_info: list[dict] = []
    extra_paths = [Path(extra_train)] if isinstance(extra_train, (str, Path)) else [Path(p) for p in extra_train]
    stream = {key: str(source.attrs.get(key)) for key in ("generator", "reps", "seed")}
    for path in extra_paths:
        extra = StructureFile(path)
        digest = file_digest(path)
        if digest in [data_digest] + [e["sha256_16"] for e in extra_info]:
            raise EDNNError(
                f"--extra-train {path} is {data.name} or another extra file again; its structures "
                "would be trained on twice or leak into validation and test"
            )
        if "None" not in stream.values() and {key: str(extra.attrs.get(key)) for key in stream} == stream:
            raise EDNNError(
                f"--extra-train {path} comes from the same generator and seed as {data.name}; its "
                "structures repeat those of the validation and test splits (use another --seed)"
            )
        method, extra_method = (str(f.attrs.get("energy_method", "unknown")) for f in (source, extra))
        if extra_method != method:
            raise EDNNError(f"{path} is labelled with {extra_method}, {data} with {method}; train on one method")
        keep = np.flatnonzero(extra.labelled & ~extra.failed)
        if not len(keep):
            raise EDNNError(f"{path} has no energies; label it first with `ednn label {path}`")
        local["train"] = np.concatenate([local["train"], len(structures) + np.arange(len(keep))])
        structures += extra.structures(keep)
        names += [f"{path.name} structure {i}" for i in keep]
        y = np.concatenate([y, extra.energy[keep]])
        extra_info.append({"file": path.name, "sha256_16": digest, "n_examples": int(len(keep))})
    lengths = {(round(s.cell[0, 0], 6), round(s.cell[1, 1], 6)) for s in structures}
    if len(lengths) > 1:
        where = f"{data} and the --extra-train files hold" if extra_info else f"{data} holds"
        raise EDNNError(f"{where} cells of {len(lengths)} different in-plane sizes; training needs one")
    length = np.array([structures[0].cell[0, 0], structures[0].cell[1, 1]])
    if grid[0] % focus or grid[1] % focus:
        raise EDNNError(f"grid {grid[0]}x{grid[1]} is not a whole number of focus regions of {focus} pixels")
    train_numbers = {int(z) for i in local["train"] for z in structures[i].numbers}
    elements = tuple(sorted(train_numbers))
    unseen = sorted({int(z) for s in structures for z in s.numbers} - train_numbers)
    if unseen:
        raise EDNNError(
            f"elements {unseen} (atomic numbers) occur in validation or test structures but never in "
            "training; the model could not learn their energy"
        )
    imaging = AtomImaging(
        pixel_size=tuple((length / np.array(grid)).tolist()),
        elements=elements,
        gamma=gamma,
        per_element=per_element,
        max_z_spread=z_spread_limit(structures),
    )
    found = fingerprints.structure_fingerprints(structures)
    seen = {"kind": "structures-v1", "train": found[local["train"]], "val": found[local["val"]]}
    if translate:
        structures = translated(structures, np.random.default_rng([seed, 0]))
    x = render_structures(structures, imaging, focus, progress, names)
    train_structures = [structures[i] for i in local["train"]]

    def refresh_train(epoch: int) -> np.ndarray:
        return render_structures(translated(train_structures, np.random.default_rng([seed, 1, epoch])), imaging, focus)

    torch.manual_seed(seed)
    if net_options is None:
        net_options = DEFAULT_NET_OPTIONS.get(net, {})
    model = build_model(x, focus, context, net, ndim=2, net_options=net_options, readout=readout, imaging=imaging)
    settings = dict(
        data_sha256_16=data_digest,
        grid=list(grid),
        focus=focus,
        context=context,
        net=net,
        net_options=net_options,
        readout=readout,
        per_element=per_element,
        gamma=gamma,
        augment=augment,
        translate=translate,
        huber=huber,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        lr_min=lr_min,
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        extra_train=[e["sha256_16"] for e in extra_info] or None,
        devices=devices,  # processes share each epoch's batches: another count is another run
    )
    data_info = {
        "file": data.name,
        "sha256_16": settings["data_sha256_16"],
        "target": "energy",
        "unit": "eV",
        "n_examples": int(len(used)),
        "spatial_shape": list(grid),
        "energy_method": str(source.attrs.get("energy_method", "unknown")),
    }
    if extra_info:
        data_info["extra_train"] = extra_info
    model = train_arrays(
        model,
        x,
        y,
        local,
        out,
        run_dir,
        settings=settings,
        data_info=data_info,
        resume=resume,
        progress=progress,
        offsets="intensity",
        augment=augment,
        refresh_train=refresh_train if translate else None,
        huber=huber,
        init=init,
        accelerator=accelerator,
        seen=seen,
        test_metrics=lambda trained: evaluate_structures(
            trained, [structures[i] for i in local["test"]], y[local["test"]]
        )["summary"],
    )
    return model


def evaluate_structures(model: EDNN, structures: Sequence[Atoms], energies: np.ndarray, placements: int = 1) -> dict:
    """Predict structures (averaged over `placements`, see `AtomEDNN.predict_atoms`) and compare
    with reference energies (eV): {'summary', 'predicted', 'true', 'seconds'}; summary is
    `atom_error_summary` plus seconds per structure."""
    start = time.perf_counter()
    predicted = model.predict_atoms(structures, placements)
    seconds = time.perf_counter() - start
    n_atoms = np.array([len(s) for s in structures])
    summary = atom_error_summary(predicted, energies, areas(structures), n_atoms)
    summary["seconds_per_structure"] = seconds / len(structures)
    return {
        "summary": summary,
        "predicted": predicted,
        "true": np.asarray(energies, float),
        "seconds": seconds,
        "n_atoms": n_atoms,
    }


def evaluate_structure_file(model: EDNN, data: str | Path, split: str | None = None, placements: int = 1) -> dict:
    """`evaluate_structures` on a labelled structure file or ASE-readable file with energies;
    split='test' (or 'val', 'train') uses the model's own split of its training file; the result
    also holds the structures' `fingerprints` (`ednn.io.fingerprints`)."""
    from ednn.io.structures import read_structures

    data = Path(data)
    if split is None:
        structures, energies = read_structures(data, require_energy=True)
    else:
        recorded = recorded_split(model, data)
        source = StructureFile(data)
        index = labelled_split(source, recorded["seed"], recorded["val_fraction"], recorded["test_fraction"])[split]
        structures, energies = source.structures(index), source.energy[index]
    result = evaluate_structures(model, structures, energies, placements)
    result["fingerprints"] = fingerprints.structure_fingerprints(structures)
    return result
