"""Paper §3.4, Fig. 13: g(r) of pristine graphene at 1000 K from EDNN-driven Monte Carlo and
MD, against planar GFN1-xTB MD; and the speed of EDNN Monte Carlo with local updates.

    python benchmarks/graphene_gr.py [--model models/ablations/hexsheets-gfn1xtb-dense.safetensors]
                                     [--reference datasets/graphene-60-gfn1xtb-1000K-md.h5]
                                     [--work data/md] [--out docs]

The reference is the committed GFN1-xTB trajectory (production frames; commands in
docs/simulation.md); the EDNN runs are made here (resumable, in --work). Both MD runs:
60-atom 12.50 × 12.99 Å cell, Langevin 1000 K, friction 0.01/fs, 1 fs steps, 6000 steps,
z frozen; the first 500 fs are equilibration. Also: the EDNN's energy error on the
reference frames. Speed is measured on ONE core.
"""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before torch starts its thread pool

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch
from ase.io import read

import ednn
from ednn.analysis.rdf import peaks, radial_distribution
from ednn.io.structures import read_structures
from ednn.simulate.dynamics import run_planar_md
from ednn.simulate.montecarlo import AtomMetropolis, read_samples, run_atom_mc
from ednn.systems.sheets import honeycomb

TEMPERATURE, TIMESTEP_FS, MD_STEPS, EQUILIBRATION_FS = 1000.0, 1.0, 6000, 500
MC = {"chains": 8, "steps": 60_000, "equilibration": 3000, "sample_every": 60}
PAPER_SECONDS_PER_EVALUATION = 0.39
TARGETS = {"peak position error (Å)": 0.02, "MC steps per second, one core": 1000.0}


def md_production(path: Path) -> list:
    frames = read(path, ":")
    start = int(EQUILIBRATION_FS / TIMESTEP_FS)
    return frames[start:] if len(frames) > start else []


def mc_speed(model: ednn.EDNN, chains: int, steps: int = 2000) -> float:
    """Proposals per second (all chains together) of local-update MC, after a warm-up."""
    mc = AtomMetropolis(model, honeycomb((5, 3))[0], chains, TEMPERATURE, 0.09, np.random.default_rng(0))
    for _ in range(200):
        mc.step()
    start = time.perf_counter()
    for _ in range(steps):
        mc.step()
    return steps * chains / (time.perf_counter() - start)


def full_evaluation_seconds(model: ednn.EDNN, repeats: int = 200) -> float:
    atoms = honeycomb((5, 3))[0]
    model.predict_atoms(atoms)
    start = time.perf_counter()
    for _ in range(repeats):
        model.predict_atoms(atoms)
    return (time.perf_counter() - start) / repeats


def figure(curves: dict, table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    styles = {"GFN1-xTB MD": ("k", "-", 2.0), "EDNN MD": ("tab:blue", "--", 1.3), "EDNN MC": ("tab:red", ":", 1.6)}
    for name, (r, g) in curves.items():
        colour, line, width = styles[name]
        peak_text = ", ".join(f"{p:.3f}" for p, _ in table[name])
        ax.plot(r, g, color=colour, linestyle=line, linewidth=width, label=f"{name} (peaks {peak_text} Å)")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.set_xlim(1.0, r[-1])
    ax.set_title("Pristine graphene, 60-atom cell, 1000 K (paper Fig. 13)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("models/ablations/hexsheets-gfn1xtb-dense.safetensors"))
    parser.add_argument("--reference", type=Path, default=Path("datasets/graphene-60-gfn1xtb-1000K-md.h5"))
    parser.add_argument("--work", type=Path, default=Path("data/md"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    args.work.mkdir(parents=True, exist_ok=True)
    model = ednn.load(args.model)
    sheet = honeycomb((5, 3))[0]

    start = time.perf_counter()
    run_planar_md(
        sheet,
        model.calculator(),
        args.work / "graphene-60-ednn-1000K.traj",
        temperature_K=TEMPERATURE,
        timestep_fs=TIMESTEP_FS,
        steps=MD_STEPS,
        seed=0,
    )
    md_seconds = time.perf_counter() - start
    start = time.perf_counter()
    mc_summary = run_atom_mc(
        model, sheet, args.work / "graphene-60-ednn-1000K-mc.h5", temperature_K=TEMPERATURE, seed=0, **MC
    )
    mc_seconds = time.perf_counter() - start

    reference_frames, reference_energies = read_structures(args.reference, require_energy=True)
    samples = {
        "GFN1-xTB MD": reference_frames,  # production frames only, as committed
        "EDNN MD": md_production(args.work / "graphene-60-ednn-1000K.traj"),
        "EDNN MC": read_samples(args.work / "graphene-60-ednn-1000K-mc.h5")[0],
    }
    curves = {name: radial_distribution(frames, r_max=4.5, bin_width=0.01) for name, frames in samples.items()}
    table = {name: peaks(r, g, 3) for name, (r, g) in curves.items()}
    reference = table["GFN1-xTB MD"]

    print(f"g(r) peaks, pristine graphene, 60 atoms, {TEMPERATURE:.0f} K (position Å / height)")
    print(f"{'source':<14}{'frames':>8}" + "".join(f"{f'peak {k + 1}':>20}" for k in range(3)))
    for name, found in table.items():
        cells = "".join(f"{p:>11.4f} / {h:<6.2f}" for p, h in found)
        print(f"{name:<14}{len(samples[name]):>8}{cells}")
    deviations = {
        name: [abs(p - q) for (p, _), (q, _) in zip(found, reference)]
        for name, found in table.items()
        if name != "GFN1-xTB MD"
    }
    for name, dev in deviations.items():
        print(
            f"{name}: |Δ position| = {', '.join(f'{d:.4f}' for d in dev)} Å "
            f"(target ≤ {TARGETS['peak position error (Å)']}: {'met' if max(dev) <= 0.02 else 'NOT met'})"
        )

    predicted = model.predict_atoms(reference_frames)
    error = predicted - reference_energies
    deviation, predicted_deviation = reference_energies - reference_energies.mean(), predicted - predicted.mean()
    explained = 1 - np.sum((predicted_deviation - deviation) ** 2) / np.sum(deviation**2)
    natoms = len(reference_frames[0])
    energy_check = {
        "mean_error_meV_per_atom": 1e3 * error.mean() / natoms,
        "std_error_meV_per_atom": 1e3 * error.std() / natoms,
        "reference_std_meV_per_atom": 1e3 * reference_energies.std() / natoms,
        "r2_of_deviations_from_mean": explained,
    }
    print(
        f"EDNN on the GFN1-xTB MD frames: mean error {energy_check['mean_error_meV_per_atom']:.1f} meV/atom, "
        f"spread of the error {energy_check['std_error_meV_per_atom']:.2f} meV/atom against a thermal spread of "
        f"{energy_check['reference_std_meV_per_atom']:.2f}; R² of deviations from the mean {explained:.3f}"
    )

    single = mc_speed(model, 1)
    batched = mc_speed(model, 8, 1000)
    full = full_evaluation_seconds(model)
    print(
        f"EDNN MC, one core: {single:.0f} steps/s with one chain, {batched:.0f} proposals/s with 8 chains "
        f"(target ≥ {TARGETS['MC steps per second, one core']:.0f}; paper {PAPER_SECONDS_PER_EVALUATION} s "
        f"per energy evaluation = {1 / PAPER_SECONDS_PER_EVALUATION:.1f} steps/s); full render + evaluation "
        f"{full * 1e3:.2f} ms"
    )
    print(
        f"MC: step {mc_summary['step_size']:.4f} Å, acceptance {mc_summary['acceptance']:.3f}; "
        f"runs took MD {md_seconds:.0f} s, MC {mc_seconds:.0f} s (0 if already done)"
    )

    results = {
        "command": "python benchmarks/graphene_gr.py",
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, no GPU, torch {torch.__version__}",
        "temperature_K": TEMPERATURE,
        "md": {"timestep_fs": TIMESTEP_FS, "steps": MD_STEPS, "equilibration_fs": EQUILIBRATION_FS},
        "mc": MC,
        "peaks": {name: [{"position_A": p, "height": h} for p, h in found] for name, found in table.items()},
        "peak_position_deviation_A": deviations,
        "frames": {name: len(frames) for name, frames in samples.items()},
        "ednn_on_reference_frames": energy_check,
        "mc_step_A": mc_summary["step_size"],
        "mc_acceptance": mc_summary["acceptance"],
        "mc_steps_per_second_one_chain": single,
        "mc_proposals_per_second_8_chains": batched,
        "full_evaluation_ms": full * 1e3,
        "paper_seconds_per_evaluation": PAPER_SECONDS_PER_EVALUATION,
        "targets": TARGETS,
        "g_r": {name: {"r": r.round(4).tolist(), "g": g.round(5).tolist()} for name, (r, g) in curves.items()},
    }
    (args.out / "results" / "graphene_gr.json").write_text(json.dumps(results, indent=1))
    figure(curves, table, args.out / "figures" / "graphene-fig13-gr.png")
    print(f"wrote {args.out / 'results' / 'graphene_gr.json'} and {args.out / 'figures' / 'graphene-fig13-gr.png'}")


if __name__ == "__main__":
    main()
