"""Text of an Ising-transition result for people: the Binder crossings beside Onsager's Tc,
why any of them is NaN (naming the `ednn ising transition` options that help), the rates."""

from __future__ import annotations

import math
from collections.abc import Sequence


def _nan_reason(crossing: dict, fine: Sequence[float]) -> str | None:
    """Why a crossing's Tc or error bar is NaN (see `binder_crossings`), or None when neither is."""
    span = f"{min(fine):g}..{max(fine):g}"
    if math.isnan(crossing["tc"]):
        return (
            f"no rising Binder crossing inside the crossing temperatures {span}: widen --fine-min..--fine-max "
            "(small lattices cross away from Tc) or raise --effort"
        )
    if math.isnan(crossing["error"]):
        return (
            f"no error bar: leaving out one of {crossing['groups']} groups of chains moved the crossing "
            f"outside {span}; too few chains per jackknife group: raise --effort"
        )
    return None


def summary_lines(result: dict) -> list[str]:
    """A table of the Binder crossings of a `run_transition` result beside Onsager's Tc, a line
    on why for each NaN in it, and the rates."""
    onsager = result["onsager_tc"]
    lines = [f"{'energy':8} {'sizes':>7} {'Tc':>8} {'± (jackknife)':>14} {'vs Onsager':>11}"]
    notes = []
    for name, run in result["energies"].items():
        for c in run["crossings"]:
            pair = f"{c['sizes'][0]:>3}/{c['sizes'][1]:<3}"
            lines.append(f"{name:8} {pair} {c['tc']:8.4f} {c['error']:14.4f} {100 * (c['tc'] / onsager - 1):+10.2f}%")
            reason = _nan_reason(c, result["fine_temperatures"])
            if reason is not None:
                notes.append(f"{name} {pair.strip()}: {reason}")
    lines.append(f"{'Onsager':8} {'L=∞':>7} {onsager:8.4f}")
    lines += notes
    lines.append(
        "proposals per second, measurements included: "
        + ", ".join(
            f"{name} {run['rate']:.3g} ({run['proposals']:.3g} in {run['seconds']:.0f} s)"
            for name, run in result["energies"].items()
        )
    )
    return lines
