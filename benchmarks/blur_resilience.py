"""Paper §3.2.1, Fig. 6: blur resilience of the sheet models, focus blur against context blur.

Each tile of every held-out 60-site sheet is blurred on its own copy (`ednn.analysis.blur`): a
Gaussian of σ pixels over the innermost (focus) or the outermost (context) φ of the tile's pixels,
the same area for both. Errors of the totals against GFN1-xTB, in meV/Å², mean over structures ±
standard error, and the mean change from the unblurred prediction; for the dense tile model
(the paper's kind) and the recommended local-density model (a tile there is the receptive field of
its focus region's density cells). Writes docs/results/blur_resilience.json and
docs/figures/blur-resilience-fig6.png.

    nice python benchmarks/blur_resilience.py [--dense-structures 692] [--density-structures 256]   # ~10 min
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import ednn
from ednn.analysis.blur import blur_mask, blurred_totals_of_masks
from ednn.analysis.plots import pyplot
from ednn.io.structures import StructureFile
from ednn.train.structures import areas, labelled_split

#: label: (model file, blurred fractions compared at equal area (≤ f²/t²), context-only fractions beyond them)
MODELS = {
    "dense tile net (ablations/hexsheets-gfn1xtb-dense, f 16, c 8)": (
        "models/ablations/hexsheets-gfn1xtb-dense.safetensors",
        (0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25),
        (0.375, 0.5, 0.75),
    ),
    "local density + qeq (hexsheets-gfn1xtb, f 16, c 24)": (
        "models/hexsheets-gfn1xtb.safetensors",
        (0.005, 0.01, 0.02, 0.03, 0.045, 0.0625),
        (0.125, 0.25, 0.5, 0.9375),
    ),
}
SIGMAS = (1.0, 2.0, 4.0)  # pixels (≈ 0.2 Å each)
#: The untrained control: the same architecture with fresh random weights, on this many sheets, at this σ.
CONTROL_STRUCTURES, CONTROL_SIGMA = 64, 2.0
PAPER = "paper (Fig. 6): at equal area, context blur hurts less than focus blur"


def mean_and_error(values: np.ndarray) -> tuple[float, float]:
    """Mean and its standard error over structures."""
    return float(np.mean(values)), float(np.std(values, ddof=1) / np.sqrt(len(values)))


def untrained_control(model: ednn.EDNN, x: np.ndarray, equal: tuple, seed: int) -> list[dict]:
    """Mean |change| of the totals (eV) under focus and context blur at equal area, for the model's
    architecture with fresh random weights (PyTorch's default start, float64): what the architecture alone
    does to focus and context, before any learning."""
    torch.manual_seed(seed)
    fresh = copy.deepcopy(model).double()  # float64: an untrained net's changes are small
    for module in fresh.net.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    masks = [blur_mask(model.focus, model.context, "focus", 0.0)] + [
        blur_mask(model.focus, model.context, r, f) for f in equal for r in ("focus", "context")
    ]
    totals = blurred_totals_of_masks(fresh, x[:CONTROL_STRUCTURES], CONTROL_SIGMA, masks)[:, :, 0]
    change = np.abs(totals[1:] - totals[0]).mean(1).reshape(len(equal), 2)
    return [
        {
            "sigma_px": CONTROL_SIGMA,
            "fraction": f,
            "focus_change_eV": a,
            "context_change_eV": b,
            "focus_over_context": a / b,
        }
        for f, (a, b) in zip([float(m.mean()) for m in masks[1::2]], change.tolist())
    ]


def measure(path: str, equal: tuple, beyond: tuple, source: StructureFile, count: int, seed: int) -> dict:
    """Errors of one model on `count` test sheets under focus and context blur."""
    start = time.perf_counter()
    model = ednn.load(path)
    split = model.info["split"]
    test = labelled_split(source, split["seed"], split["val_fraction"], split["test_fraction"])["test"]
    index = np.sort(np.random.default_rng(seed).permutation(test)[:count])
    structures = source.structures(index)
    truth = source.energy[index]
    per_area = 1000 / areas(structures)  # eV per cell -> meV/Å²
    x = np.stack([model.imaging.image(s, model.focus).numpy() for s in structures])
    plan = [("none", 0.0)] + [(r, f) for f in equal for r in ("focus", "context")] + [("context", f) for f in beyond]
    masks = [blur_mask(model.focus, model.context, "focus" if r == "none" else r, f) for r, f in plan]
    pixel = float(np.mean(model.imaging.pixel_size))
    rows, pairs, sharp = [], [], None
    for sigma in SIGMAS:
        totals = blurred_totals_of_masks(model, x, sigma, masks)[:, :, 0]
        sharp = totals[0] if sharp is None else sharp
        error = np.abs(totals - truth) * per_area  # (masks, structures) meV/Å²
        for (region, _), mask, err, predicted in zip(plan, masks, error, totals):
            if region == "none" and rows:
                continue
            mae, mae_se = mean_and_error(err)
            change, change_se = mean_and_error(np.abs(predicted - sharp) * per_area)
            blurred = region != "none"
            rows.append(
                {
                    "region": region,
                    "sigma_px": sigma if blurred else 0.0,
                    "sigma_A": round(sigma * pixel, 4) if blurred else 0.0,
                    "fraction": float(mask.mean()) if blurred else 0.0,
                    "pixels": int(mask.sum()) if blurred else 0,
                    "mae_meV_per_A2": mae,
                    "mae_se": mae_se,
                    "median_abs_meV_per_A2": float(np.median(err)),
                    "change_meV_per_A2": change,
                    "change_se": change_se,
                }
            )
        for fraction in equal:
            focus, context = plan.index(("focus", fraction)), plan.index(("context", fraction))
            gap, gap_se = mean_and_error(error[focus] - error[context])
            pairs.append(
                {
                    "sigma_px": sigma,
                    "fraction": float(masks[focus].mean()),
                    "focus_minus_context_meV_per_A2": gap,
                    "se": gap_se,
                    "focus_over_context": float(error[focus].mean() / error[context].mean()),
                }
            )
        print(f"  σ = {sigma:g} px done, {time.perf_counter() - start:.0f} s", flush=True)
    return {
        "model": path,
        "focus": model.focus,
        "context": model.context,
        "tile": model.tile,
        "focus_fraction_of_tile": model.focus**2 / model.tile**2,
        "structures": len(index),
        "test_indices": index.tolist(),
        "rows": rows,
        "equal_area": pairs,
        "untrained_control": untrained_control(model, x, equal, seed),
        "wall_s": round(time.perf_counter() - start, 1),
    }


def verdict(result: dict) -> str:
    """One line: in how many equal-area cases context blur hurt less than focus blur (paired over
    structures; 'clearly': by more than two standard errors)."""
    pairs = result["equal_area"]
    less = sum(p["focus_minus_context_meV_per_A2"] > 0 for p in pairs)
    clearly = sum(p["focus_minus_context_meV_per_A2"] > 2 * p["se"] for p in pairs)
    more = sum(p["focus_minus_context_meV_per_A2"] < -2 * p["se"] for p in pairs)
    word = "reproduced" if less == len(pairs) and more == 0 else ("refuted" if 2 * more > len(pairs) else "mixed")
    return f"{word}: context blur hurts less in {less} of {len(pairs)} equal-area cases ({clearly} by > 2 s.e.)"


def control_line(result: dict) -> str:
    """One line: median focus/context ratio of the mean |change| at σ = CONTROL_SIGMA, trained and untrained."""
    rows = {(r["region"], r["pixels"]): r for r in result["rows"] if r["sigma_px"] == CONTROL_SIGMA}
    trained = [
        rows["focus", k]["change_meV_per_A2"] / rows["context", k]["change_meV_per_A2"] for _, k in rows if _ == "focus"
    ]
    untrained = [c["focus_over_context"] for c in result["untrained_control"]]
    return (
        f"focus/context |change| at σ = {CONTROL_SIGMA:g} px, median over areas: trained {np.median(trained):.3g}, "
        f"same net untrained {np.median(untrained):.3g}"
    )


def figure(results: dict, path: Path) -> None:
    """Per model (column): mean |error| against GFN1-xTB (top) and mean |change| from the unblurred
    prediction (bottom) against the blurred fraction; focus solid, context dashed, one colour per σ."""
    plt = pyplot()
    fig, axes = plt.subplots(2, len(results), figsize=(6.4 * len(results), 8.6), squeeze=False)
    colours = dict(zip(SIGMAS, ("tab:blue", "tab:orange", "tab:red")))
    for column, (label, result) in enumerate(results.items()):
        top, bottom = axes[0, column], axes[1, column]
        rows = result["rows"]
        sharp = rows[0]
        for sigma in SIGMAS:
            for region, style in (("focus", "-o"), ("context", "--s")):
                chosen = [r for r in rows if r["region"] == region and r["sigma_px"] == sigma]
                common = dict(fmt=style, ms=3.5, capsize=2, color=colours[sigma])
                name = f"{region}, σ = {sigma:g} px ({chosen[0]['sigma_A']:.2f} Å)"
                top.errorbar(
                    [100 * r["fraction"] for r in [sharp, *chosen]],
                    [r["mae_meV_per_A2"] for r in [sharp, *chosen]],
                    yerr=[r["mae_se"] for r in [sharp, *chosen]],
                    label=name,
                    **common,
                )
                bottom.errorbar(
                    [100 * r["fraction"] for r in chosen],
                    [r["change_meV_per_A2"] for r in chosen],
                    yerr=[r["change_se"] for r in chosen],
                    label=name,
                    **common,
                )
        for ax, what in ((top, "mean |error| vs GFN1-xTB"), (bottom, "mean |change| from unblurred")):
            ax.axvline(100 * result["focus_fraction_of_tile"], color="0.5", lw=0.8, ls=":")
            ax.set_xscale("symlog", linthresh=1)
            ax.set_yscale("log")
            ax.set_xlim(left=0)
            ax.set(
                xlabel="blurred fraction of each tile's pixels (%); dotted: the whole focus", ylabel=f"{what} (meV/Å²)"
            )
            ax.legend(fontsize=6.5, ncol=2)
        top.axhline(sharp["mae_meV_per_A2"], color="0.3", lw=0.8)
        top.set_title(
            "\n".join(
                [
                    label,
                    f"{result['structures']} test sheets, ± s.e. over them; grey line: unblurred",
                    verdict(result),
                    control_line(result),
                ]
            ),
            fontsize=8.5,
        )
    fig.suptitle(PAPER, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("datasets/hexsheets-60.h5"))
    parser.add_argument("--dense-structures", type=int, default=692)
    parser.add_argument("--density-structures", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0, help="which test sheets, when fewer than all")
    parser.add_argument("--out", type=Path, default=Path("docs/results/blur_resilience.json"))
    parser.add_argument("--figure", type=Path, default=Path("docs/figures/blur-resilience-fig6.png"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    source = StructureFile(args.data)
    counts = (args.dense_structures, args.density_structures)
    results = {}
    for (label, (path, equal, beyond)), count in zip(MODELS.items(), counts):
        print(label, flush=True)
        results[label] = measure(path, equal, beyond, source, count, args.seed)
        print(f"  {verdict(results[label])}\n  {control_line(results[label])}", flush=True)
        for row in results[label]["rows"]:
            print(
                f"  {row['region']:8} σ {row['sigma_px']:3g} px  φ {row['fraction']:.4f}  "
                f"MAE {row['mae_meV_per_A2']:9.3f} ± {row['mae_se']:.3f}  "
                f"change {row['change_meV_per_A2']:9.3f} ± {row['change_se']:.3f} meV/Å²"
            )
    figure(results, args.figure)
    summary = {
        "command": "nice python benchmarks/blur_resilience.py "
        f"--dense-structures {args.dense_structures} --density-structures {args.density_structures} --seed {args.seed}",
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread, no GPU, torch {torch.__version__}",
        "wall_s": round(time.perf_counter() - start, 1),
        "sigmas_px": list(SIGMAS),
        "paper": PAPER,
        "verdicts": {label: [verdict(r), control_line(r)] for label, r in results.items()},
        "models": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.out} and {args.figure} in {summary['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
