"""Paper §3.2.2 (Fig. 7): porous graphene with REBO energies — held-out accuracy, atomic
motion, a bond/angle baseline and transfer to larger cells.

1. The model's held-out starting geometries (its recorded split, applied to the groups of
   its training file), every frame of them in the full set: errors in meV/Å², meV/atom and
   eV per cell.
2. Motion: per held-out MD trajectory, R² of the energy deviations from the trajectory
   mean (predicted against REBO), and the thermal spread of REBO energies in it.
3. A 12-term linear fit on bond-length and bond-angle polynomials
   (`ednn.analysis.descriptors`) trained on 150 frames of training geometries, evaluated
   the same way.
4. Transfer to 4×4 and 16×16 supercells made the same way (MD at 1000 K).

The EDNN is evaluated as is (one placement of the pixel grid) and averaged over
--placements in-plane translations (`EDNN.predict_atoms(..., placements)`).

Prints our figures beside the paper's and the issue's targets, writes
`<out>/results/porous_accuracy.json` and `<out>/figures/porous-fig7-*.png`.

    python benchmarks/porous_accuracy.py [--model M] [--data FULL.h5] [--placements 8] [--out docs]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

import ednn
from ednn.analysis.descriptors import feature_matrix, fit_linear
from ednn.analysis.metrics import atom_error_summary
from ednn.analysis.plots import pyplot
from ednn.core.errors import EDNNError
from ednn.io.paths import file_digest
from ednn.io.structures import StructureFile
from ednn.train.structures import areas, evaluate_structures, labelled_split

PAPER_MEDIAN = 1.685
"""The paper's median absolute error on its 349 held-out geometries (DFT), meV/Å²."""
TARGET_MEDIAN = 0.3
"""Issue 7's target for the held-out median, meV/Å²."""
ISSUE_BASELINE = 0.75
"""Issue 7: the 12-term bond/angle fit on 150 frames reaches about this median, meV/Å²."""
ISSUE_SPREAD = 1.6
"""Issue 7: thermal spread of the energy within a trajectory, about this many meV/Å²."""
TRANSFER_TARGET = 1.5
"""Issue 7: transfer median per Å² at most this many times the held-out median."""
BASELINE_FRAMES = (150, 1500)
BASELINE_SEED = 2026
FALLBACK = Path("datasets/porous-graphene-rebo-sample.h5")
TRANSFER_FILES = {"4x4": Path("data/porous/transfer-4x4.h5"), "16x16": Path("data/porous/transfer-16x16.h5")}
MACHINE = "x86_64, 2 cores, no GPU"


def training_file(model: ednn.EDNN, near: list[Path]) -> Path | None:
    """The model's training file (by recorded name and SHA-256 prefix) in one of the folders `near`."""
    name, digest = model.info["data"]["file"], model.info["data"]["sha256_16"]
    for folder in dict.fromkeys(near):
        if (folder / name).is_file() and file_digest(folder / name) == digest:
            return folder / name
    return None


def held_out_groups(model: ednn.EDNN, full: StructureFile, trained_on: Path | None) -> tuple[dict, dict]:
    """Starting geometries (groups) of the model's train/val/test split, and a record of how
    they were found: the recorded split applied to the groups of its training file (or, if
    that is missing, to the full file's groups)."""
    split = model.info["split"]
    settings = (split["seed"], split["val_fraction"], split["test_fraction"])
    source = StructureFile(trained_on) if trained_on is not None else full
    groups = {k: np.unique(source.group[v]) for k, v in labelled_split(source, *settings).items()}
    known = set(source.group.tolist())
    if not known <= set(full.group.tolist()):
        raise EDNNError(f"{source.path} holds starting geometries that {full.path} lacks")
    same_groups = known == set(full.group.tolist())
    record = {
        "split_of": str(source.path),
        "seed": settings[0],
        "val_fraction": settings[1],
        "test_fraction": settings[2],
        "groups_in_training_file": len(known),
        "groups_in_full_file": len(set(full.group.tolist())),
        "same_groups": same_groups,
        "groups": {k: len(v) for k, v in groups.items()},
    }
    if same_groups:  # then the split of the full file's groups must be the very same
        direct = {k: np.unique(full.group[v]) for k, v in labelled_split(full, *settings).items()}
        record["full_file_split_agrees"] = all(np.array_equal(direct[k], groups[k]) for k in groups)
    mine = np.isin(source.group, groups["test"])
    theirs = np.isin(full.group, groups["test"])
    record["test_frames_of_training_file_in_full_file"] = (
        f"{int(np.isin(source.energy[mine], full.energy[theirs]).sum())} of {int(mine.sum())}"
    )
    return groups, record


def trajectory_r2(predicted: np.ndarray, true: np.ndarray, groups: np.ndarray) -> dict:
    """R² of energy deviations from each trajectory's mean (eV), predicted against true:
    per trajectory (median) and pooled over all trajectories."""
    dp, dt = np.empty_like(predicted), np.empty_like(true)
    per = []
    for g in np.unique(groups):
        at = groups == g
        dp[at], dt[at] = predicted[at] - predicted[at].mean(), true[at] - true[at].mean()
        per.append(1 - np.sum((dp[at] - dt[at]) ** 2) / np.sum(dt[at] ** 2))
    return {
        "median_per_trajectory": float(np.median(per)),
        "pooled": float(1 - np.sum((dp - dt) ** 2) / np.sum(dt**2)),
        "per_trajectory": [float(r) for r in per],
        "deviation_predicted_eV": dp,
        "deviation_true_eV": dt,
    }


def thermal_spread(true: np.ndarray, area: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Standard deviation of the energy within each trajectory, meV/Å² (one per group)."""
    return np.array([1000 * true[groups == g].std() / area[groups == g][0] for g in np.unique(groups)])


def fig7(results: dict, area: np.ndarray, path: Path) -> None:
    """Parity (eV/Å²), error against energy (meV/Å²) and error histograms, EDNN and baseline."""
    plt = pyplot()
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.4))
    true = results["EDNN"]["true"] / area
    ax1.plot([true.min(), true.max()], [true.min(), true.max()], color="0.6", lw=1, zorder=0)
    errors = {label: 1000 * (r["predicted"] - r["true"]) / area for label, r in results.items()}
    bins = np.histogram_bin_edges(np.concatenate(list(errors.values())), 80)
    for label, error in errors.items():
        ax1.scatter(true, results[label]["predicted"] / area, s=3, alpha=0.4, label=label)
        ax2.scatter(true, error, s=3, alpha=0.4, label=f"{label}: median |err| {np.median(np.abs(error)):.3g}")
        ax3.hist(error, bins=bins, histtype="step", label=label)
    ax1.set(xlabel="REBO energy (eV/Å²)", ylabel="predicted energy (eV/Å²)", title="(a) parity")
    ax2.axhline(0, color="0.6", lw=1, zorder=0)
    ax2.set(xlabel="REBO energy (eV/Å²)", ylabel="predicted − REBO (meV/Å²)", title="(b) error")
    ax3.set(xlabel="predicted − REBO (meV/Å²)", ylabel="frames", title="(c) error histogram")
    for ax in (ax1, ax2, ax3):
        ax.legend(fontsize=8)
    fig.suptitle(f"Porous graphene, held-out starting geometries ({len(area)} frames)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def motion_figure(motion: dict, area: np.ndarray, groups: np.ndarray, frame_fs: float, path: Path) -> None:
    """(a) predicted against REBO deviations from the trajectory mean, pooled; (b) one
    held-out trajectory's deviations frame by frame (meV/Å²); frames `frame_fs` fs apart."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4))
    first = next(iter(motion.values()))
    dt = 1000 * first["deviation_true_eV"] / area
    ax1.plot([dt.min(), dt.max()], [dt.min(), dt.max()], color="0.6", lw=1, zorder=0)
    shown = groups == groups[0]
    ax2.plot(frame_fs * np.arange(shown.sum()), dt[shown], color="k", lw=1.5, label="REBO")
    for label, m in motion.items():
        predicted = 1000 * m["deviation_predicted_eV"] / area
        ax1.scatter(dt, predicted, s=3, alpha=0.4, label=f"{label}: pooled R² {m['pooled']:.2f}")
        ax2.plot(frame_fs * np.arange(shown.sum()), predicted[shown], lw=1, label=label)
    ax1.set(
        xlabel="REBO deviation from trajectory mean (meV/Å²)",
        ylabel="predicted deviation (meV/Å²)",
        title="(a) energy changes within held-out trajectories",
    )
    ax2.set(
        xlabel="time (fs)",
        ylabel="deviation from trajectory mean (meV/Å²)",
        title=f"(b) held-out trajectory {groups[0]}",
    )
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def transfer_rows(model: ednn.EDNN, placements: int, held: dict) -> dict:
    """Errors on the labelled transfer files (each its own row), `placements` as in predict_atoms."""
    transfer = {}
    for name, path in TRANSFER_FILES.items():
        if not path.is_file() or not StructureFile(path).labelled.any():
            print(f"  {name}: no labelled {path}")
            continue
        source = StructureFile(path)
        index = np.flatnonzero(source.labelled & ~source.failed)
        t0 = time.perf_counter()
        s = evaluate_structures(model, source.structures(index), source.energy[index], placements)
        row = dict(
            s["summary"],
            mean_atoms=float(source.n_atoms[index].mean()),
            starting_geometries=int(len(np.unique(source.group[index]))),
            mean_error_meV_per_atom=float(1000 * np.mean((s["predicted"] - s["true"]) / s["n_atoms"])),
            ratio_to_held_out_median=s["summary"]["median_abs_meV_per_A2"] / held["median_abs_meV_per_A2"],
            seconds=time.perf_counter() - t0,
            command=str(source.attrs.get("command", "")),
        )
        transfer[name] = row
        print(
            f"  {name}, {placements} placement(s) ({row['mean_atoms']:.0f} atoms, {row['n']} frames of "
            f"{row['starting_geometries']} geometries): median {row['median_abs_meV_per_A2']:.3f} (mean "
            f"{row['mean_abs_meV_per_A2']:.3f}) meV/Å², {row['median_abs_meV_per_atom']:.2f} "
            f"({row['mean_abs_meV_per_atom']:.2f}) meV/atom, bias {row['mean_error_meV_per_atom']:+.2f} meV/atom; "
            f"{row['ratio_to_held_out_median']:.2f}x the held-out median; EDNN {row['seconds']:.1f} s"
        )
    return transfer


def transfer_figure(transfer: dict, held: dict, path: Path) -> None:
    """Median and mean |error| per Å² against atoms per cell, the held-out cells first, one
    pair of lines per way of evaluating the EDNN."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for label, rows in transfer.items():
        points = [(held[label]["mean_atoms"], held[label])] + [(r["mean_atoms"], r) for r in rows.values()]
        atoms = [p[0] for p in points]
        line = ax.semilogx(
            atoms, [p[1]["median_abs_meV_per_A2"] for p in points], "o-", label=f"{label}: median |error|"
        )[0]
        ax.semilogx(
            atoms,
            [p[1]["mean_abs_meV_per_A2"] for p in points],
            "s--",
            color=line.get_color(),
            label=f"{label}: mean |error|",
        )
        ax.axhline(
            TRANSFER_TARGET * held[label]["median_abs_meV_per_A2"],
            color=line.get_color(),
            lw=0.8,
            ls=":",
            label=f"{label}: target, {TRANSFER_TARGET}× its held-out median",
        )
    ax.set(
        xlabel="atoms per cell",
        ylabel="error (meV/Å²)",
        ylim=(0, None),
        title="Transfer from 14×8 cells to 4×4 and 16×16 supercells",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/porous-graphene-rebo.safetensors"))
    parser.add_argument("--data", type=Path, default=Path("data/porous/porous-graphene-rebo.h5"))
    parser.add_argument(
        "--placements", type=int, default=8, help="also evaluate the EDNN averaged over this many placements (1: not)"
    )
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    figures = args.out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    data = args.data
    if not data.is_file():
        print(f"{data} is missing: using the committed sample {FALLBACK} (12 frames per geometry, not 50)")
        data = FALLBACK
    model = ednn.load(args.model)
    full = StructureFile(data)
    trained_on = training_file(model, [data.parent, Path("datasets"), Path("data/porous")])
    groups, how = held_out_groups(model, full, trained_on)
    print(
        f"model {args.model}: trained on {model.info['data']['file']} "
        f"({'found: ' + str(trained_on) if trained_on else 'NOT FOUND: split of the full file groups instead'}); "
        f"split seed {how['seed']}, fractions val {how['val_fraction']} / test {how['test_fraction']}"
    )
    print(
        f"held-out starting geometries: {how['groups']['test']} of {how['groups_in_training_file']} "
        f"(train {how['groups']['train']}, val {how['groups']['val']}); training file and {data.name} hold the "
        f"same groups: {how['same_groups']}"
        + (
            f"; splitting {data.name}'s groups directly gives the same split: {how['full_file_split_agrees']}"
            if how["same_groups"]
            else ""
        )
        + f"; the training file's held-out frames found in "
        f"{data.name}: {how['test_frames_of_training_file_in_full_file']}"
    )
    usable = full.labelled & ~full.failed
    test = np.flatnonzero(np.isin(full.group, groups["test"]) & usable)
    structures = full.structures(test)
    true, group, area = full.energy[test], full.group[test], areas(structures)
    n_atoms = full.n_atoms[test]
    print(f"evaluating all {len(test)} frames of them in {data} ({len(test) / len(groups['test']):.0f} per geometry)")

    variants = {"EDNN": 1, **({f"EDNN, {args.placements} placements": args.placements} if args.placements > 1 else {})}
    results = {label: evaluate_structures(model, structures, true, k) for label, k in variants.items()}
    summary = {label: r["summary"] for label, r in results.items()}
    t0 = time.perf_counter()
    x_test = feature_matrix(structures)
    train_frames = np.flatnonzero(np.isin(full.group, groups["train"]) & usable)
    pick = np.random.default_rng(BASELINE_SEED).permutation(train_frames)
    x_train = feature_matrix(full.structures(pick[: max(BASELINE_FRAMES)]))
    for n in BASELINE_FRAMES:
        weights = fit_linear(x_train[:n], full.energy[pick[:n]])
        label = f"bond/angle fit, {n} frames"
        results[label] = {"predicted": x_test @ weights, "true": true}
        summary[label] = atom_error_summary(x_test @ weights, true, area, n_atoms)
    baseline_seconds = time.perf_counter() - t0

    print(
        f"\n1. held-out accuracy, {len(test)} frames of {len(groups['test'])} starting geometries "
        f"({n_atoms.min()}–{n_atoms.max()} atoms): |error| median (mean)"
    )
    print(f"{'model':28} {'meV/Å²':>16} {'meV/atom':>16} {'eV per cell':>16} {'bias meV/atom':>14}")
    for label, s in summary.items():
        bias = 1000 * np.mean((results[label]["predicted"] - true) / n_atoms)
        s["mean_error_meV_per_atom"] = float(bias)
        print(
            f"{label:28} {s['median_abs_meV_per_A2']:7.3f} ({s['mean_abs_meV_per_A2']:6.3f}) "
            f"{s['median_abs_meV_per_atom']:7.2f} ({s['mean_abs_meV_per_atom']:6.2f}) "
            f"{s['median_abs_eV']:7.3f} ({s['mean_abs_eV']:6.3f}) {bias:14.2f}"
        )
    print(
        f"paper (DFT, 349 geometries, 60 744 frames): median {PAPER_MEDIAN} meV/Å²; issue 7 target: median "
        f"<= {TARGET_MEDIAN}; the issue's bond/angle fit on 150 frames: about {ISSUE_BASELINE}"
    )

    motion = {label: trajectory_r2(r["predicted"], true, group) for label, r in results.items()}
    spread = thermal_spread(true, area, group)
    print(
        f"\n2. atomic motion: REBO energy spread within a trajectory (std) median {np.median(spread):.3f} meV/Å² "
        f"(range {spread.min():.3f}–{spread.max():.3f}; issue: about {ISSUE_SPREAD})"
    )
    print(f"{'model':28} R² of deviations from the trajectory mean: median over trajectories, pooled")
    for label, m in motion.items():
        print(f"{label:28} {m['median_per_trajectory']:8.3f} {m['pooled']:8.3f}")

    print(f"\n4. transfer (target: median per Å² <= {TRANSFER_TARGET}x the held-out median)")
    held = {label: dict(summary[label], mean_atoms=float(n_atoms.mean())) for label in variants}
    transfer = {label: transfer_rows(model, k, held[label]) for label, k in variants.items()}

    fig7(results, area, figures / "porous-fig7-parity.png")
    frame_fs = float(full.attrs.get("every", np.nan)) * float(full.attrs.get("timestep_fs", np.nan))
    motion_figure(motion, area, group, frame_fs, figures / "porous-fig7-motion.png")
    if transfer["EDNN"]:
        transfer_figure(transfer, held, figures / "porous-fig7-transfer.png")

    base = summary[f"bond/angle fit, {BASELINE_FRAMES[0]} frames"]
    rows = []
    for label in variants:
        ours = summary[label]
        rows += [
            (
                f"{label}: held-out median (meV/Å²)",
                f"{PAPER_MEDIAN} (DFT)",
                ours["median_abs_meV_per_A2"],
                f"<= {TARGET_MEDIAN}",
                ours["median_abs_meV_per_A2"] <= TARGET_MEDIAN,
            ),
            (f"{label}: held-out mean (meV/Å²)", "", ours["mean_abs_meV_per_A2"], "", None),
            (f"{label}: trajectory R² (median)", "", motion[label]["median_per_trajectory"], "", None),
        ]
        for name, row in transfer[label].items():
            rows.append(
                (
                    f"{label}: transfer {name}, median (meV/Å²)",
                    "",
                    row["median_abs_meV_per_A2"],
                    f"<= {TRANSFER_TARGET * ours['median_abs_meV_per_A2']:.3f}",
                    row["ratio_to_held_out_median"] <= TRANSFER_TARGET,
                )
            )
    rows += [
        (
            "bond/angle fit, 150 frames, median (meV/Å²)",
            f"~{ISSUE_BASELINE} (issue)",
            base["median_abs_meV_per_A2"],
            "EDNN's median below",
            summary["EDNN"]["median_abs_meV_per_A2"] < base["median_abs_meV_per_A2"],
        ),
        ("thermal spread (meV/Å²)", f"~{ISSUE_SPREAD} (issue)", float(np.median(spread)), "", None),
    ]
    print(f"\n{'quantity':58} {'paper / issue':>16} {'ours':>9}  {'target':>20}  met")
    for name, paper, value, target, met in rows:
        print(f"{name:58} {paper:>16} {value:9.3f}  {target:>20}  {'' if met is None else 'yes' if met else 'NO'}")
    wall = time.perf_counter() - start
    print(f"\nwall {wall:.0f} s (bond/angle features and fits {baseline_seconds:.0f} s)")

    out = {
        "command": "python " + " ".join(sys.argv),
        "date": datetime.date.today().isoformat(),
        "machine": MACHINE,
        "torch": torch.__version__,
        "load_average": os.getloadavg()[0],
        "wall_seconds": wall,
        "model": str(args.model),
        "model_data": model.info["data"],
        "data": str(data),
        "held_out": how,
        "paper_median_meV_per_A2": PAPER_MEDIAN,
        "target_median_meV_per_A2": TARGET_MEDIAN,
        "errors": summary,
        "motion": {
            "thermal_spread_meV_per_A2": {
                "median": float(np.median(spread)),
                "min": float(spread.min()),
                "max": float(spread.max()),
            },
            **{label: {k: v for k, v in m.items() if not k.startswith("deviation")} for label, m in motion.items()},
        },
        "placements": args.placements,
        "transfer": transfer,
        "table": [{"quantity": r[0], "paper_or_issue": r[1], "ours": r[2], "target": r[3], "met": r[4]} for r in rows],
    }
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    (args.out / "results" / "porous_accuracy.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
