"""Pictures of the Ising phase transition: each observable against temperature, every lattice size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ednn.analysis.plots import pyplot
from ednn.systems.ising.energy import onsager_energy_per_spin

_TRANSITION_LABELS = {
    "energy": "energy per spin ⟨E⟩/N (J)",
    "abs_magnetisation": "⟨|m|⟩",
    "specific_heat": "specific heat C = (⟨E²⟩ − ⟨E⟩²)/(N T²)",
    "susceptibility": "susceptibility χ = N(⟨m²⟩ − ⟨|m|⟩²)/T",
    "binder": "Binder cumulant U = 1 − ⟨m⁴⟩/(3⟨m²⟩²)",
}


def transition_plots(result: dict, prefix: str | Path) -> list[Path]:
    """One PNG per observable of an `ednn.systems.ising.transition.run_transition` result, '<prefix>-<name>.png'.

    Every energy and lattice size overlaid against T: one colour per L, the first energy (the
    model) solid with filled markers, the others dashed with open markers; jackknife error
    bars; Onsager's Tc as a grey line (and his infinite-lattice energy on the energy plot).
    The Binder plot has an inset over the crossing temperatures.
    """
    plt = pyplot()
    runs = result["energies"]
    sizes = sorted({int(size) for run in runs.values() for size in run["observables"]})
    colours = {size: f"C{k}" for k, size in enumerate(sizes)}
    paths = []
    for name, label in _TRANSITION_LABELS.items():
        fig, ax = plt.subplots(figsize=(6.4, 4.6))
        axes = [ax]
        if name == "binder":
            fine = result["fine_temperatures"]
            inset = ax.inset_axes([0.56, 0.5, 0.41, 0.45])
            inset.set_xlim(min(fine) - 0.01, max(fine) + 0.01)
            axes.append(inset)
        for target in axes:
            target.axvline(result["onsager_tc"], color="0.6", lw=1, zorder=0)
        for k, (energy, run) in enumerate(runs.items()):
            for size in sizes:
                obs = run["observables"][str(size)]
                T = np.array(obs["temperature"])
                for target in axes:
                    keep = (target.get_xlim()[0] <= T) & (target.get_xlim()[1] >= T) if target is not ax else T > 0
                    target.errorbar(
                        T[keep],
                        np.array(obs[name])[keep],
                        np.array(obs[f"{name}_error"])[keep],
                        color=colours[size],
                        ls="-" if k == 0 else "--",
                        lw=1,
                        ms=4,
                        capsize=2,
                        marker="o",
                        mfc=colours[size] if k == 0 else "none",
                        label=f"{energy}, L={size}" if target is ax else None,
                    )
        if name == "energy":
            T = np.linspace(*ax.get_xlim(), 200)
            ax.plot(T, onsager_energy_per_spin(T), color="0.4", lw=1, ls=":", label="Onsager, L=∞")
        if name == "binder":
            inset.tick_params(labelsize=7)
            ax.set_title(
                "Tc from the largest pair: "
                + ", ".join(f"{energy} {run['tc']:.4f} ± {run['tc_error']:.4f}" for energy, run in runs.items())
                + f"; Onsager {result['onsager_tc']:.4f}",
                fontsize=8,
            )
        ax.set(xlabel="temperature T (J/k_B)", ylabel=label)
        ax.legend(fontsize=7, ncol=2, loc="lower left" if name in ("binder", "abs_magnetisation") else "best")
        fig.tight_layout()
        path = Path(f"{prefix}-{name.replace('_', '-')}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
