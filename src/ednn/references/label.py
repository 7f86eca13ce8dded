"""Reference energies: GFN1-xTB (tblite), Tersoff–Brenner (matscipy) or any ASE calculator.

`label_file` fills the `energy` of a structure file in parallel worker processes with one
thread each, writing results to the file within a second of their arrival (and at once on
Ctrl-C), so a killed run loses at most the last second's results and the structures in flight;
running it again labels only what is still missing.
"""

from __future__ import annotations

import importlib
import time
import warnings
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from ednn.core.errors import EDNNError
from ednn.io.run_record import check_resume
from ednn.io.structures import StructureFile, store_labels
from ednn.references.workers import finished_batches

METHODS = ("gfn1-xtb", "gfn2-xtb", "tersoff-bcn")
"""Built-in reference methods; any ASE calculator is accepted as 'module:factory' too."""


def make_calculator(method: str):
    """An ASE calculator for a built-in method name or a 'module:callable' factory spec.

    gfn1-xtb / gfn2-xtb: tblite with its default accuracy and electronic temperature (300 K).
    tersoff-bcn: Tersoff–Brenner with the B/C/N parameters of Matsunaga, Fisher and
    Matsubara (Jpn. J. Appl. Phys. 39, L48, 2000) through matscipy.
    """
    if method in ("gfn1-xtb", "gfn2-xtb"):
        try:
            from tblite.ase import TBLite
        except ImportError:
            raise EDNNError("GFN-xTB labels need tblite: pip install 'ednn[atoms]'") from None
        return TBLite(method=method.upper().replace("XTB", "xTB"), verbosity=0)
    if method == "tersoff-bcn":
        try:
            from matscipy.calculators.manybody import Manybody
            from matscipy.calculators.manybody.explicit_forms import TersoffBrenner
            from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
                Matsunaga_Fisher_Matsubara_Jpn_J_Appl_Phys_39_48_B_C_N as parameters,
            )
        except ImportError:
            raise EDNNError("Tersoff–Brenner labels need matscipy: pip install 'ednn[atoms]'") from None
        # matscipy's np.power(..., where=...) warns about memory that its np.where then discards
        warnings.filterwarnings("ignore", message="'where' used without 'out'", category=UserWarning)
        return Manybody(**TersoffBrenner(parameters))
    if ":" in method:
        module_name, _, factory = method.partition(":")
        try:
            make = getattr(importlib.import_module(module_name), factory)
        except Exception as exc:  # importing a module may raise anything
            raise EDNNError(f"cannot make calculator {method!r}: {describe(exc)}") from None
        try:
            calculator = make()
        except Exception as exc:
            raise EDNNError(f"calculator factory {method!r} raised {describe(exc)}") from None
        if not callable(getattr(calculator, "get_potential_energy", None)):
            raise EDNNError(
                f"calculator factory {method!r} returned {type(calculator).__name__}, not an ASE calculator"
            )
        return calculator
    raise EDNNError(
        f"unknown reference method {method!r}; choose one of {', '.join(METHODS)} "
        "or give an ASE calculator factory as 'module:callable'"
    )


def describe(exc: BaseException) -> str:
    """'Type: first line of the message', at most 200 characters."""
    message = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0]}"[:200] if message else type(exc).__name__


def first_failure(data: StructureFile) -> str | None:
    """'structure k: reason' of the first failed structure whose reason was recorded."""
    failed = np.flatnonzero(data.failed & (data.failure_reason != ""))
    return f"structure {failed[0]}: {data.failure_reason[failed[0]]}" if len(failed) else None


_worker_calculator = None


def _init_worker(method: str) -> None:
    global _worker_calculator
    _worker_calculator = make_calculator(method)


def _label_one(item: tuple[int, object]) -> tuple[int, float, float, bool, str]:
    index, atoms = item
    atoms.calc = _worker_calculator
    start = time.perf_counter()
    try:
        energy = float(atoms.get_potential_energy())
        failed, reason = (False, "") if np.isfinite(energy) else (True, f"the energy is {energy}")
    except Exception as exc:  # the reference code did not converge or refused the structure
        energy, failed, reason = float("nan"), True, describe(exc)
    return index, energy, time.perf_counter() - start, failed, reason


def label_file(
    path: str | Path,
    method: str = "gfn1-xtb",
    *,
    workers: int = 1,
    progress: bool = True,
    flush_seconds: float = 1.0,
    on_label: Callable[[int], None] | None = None,
    command: str = "",
) -> StructureFile:
    """Label every structure of `path` that has no energy yet (resumable), return the file.

    Energies in eV; the wall seconds of each calculation go to `label_seconds`. Structures
    whose calculation raises (or gives a non-finite energy) are marked `failed`, with the
    reason in `failure_reason`, and not retried — unless no structure of the file is labelled:
    such a file is not tied to its method, and its failures are retried (with any method).
    Raises EDNNError when every structure failed. `command`, if given, is recorded in the
    file's `label_command` attribute.
    """
    path = Path(path)
    if path.suffix not in (".h5", ".hdf5"):
        raise EDNNError(
            f"{path} is not an ednn structure file (.h5); make one with `ednn sheets generate` or `ednn import`"
        )
    data = StructureFile(path)
    if data.attrs.get("energy_method") is not None and data.labelled.any():
        check_resume(
            data.attrs,
            {"energy_method": method},
            f"{path} is labelled",
            "use a copy of the unlabelled file for another method",
            {"energy_method": ("energy method", "")},
        )
    make_calculator(method)  # fail early, in this process, if the method is unusable
    if data.failed.any() and not data.labelled.any():
        retry = np.flatnonzero(data.failed)
        store_labels(
            path,
            retry,
            np.full(len(retry), np.nan),
            np.full(len(retry), np.nan),
            np.zeros(len(retry), bool),
            [""] * len(retry),
        )
        data = StructureFile(path)
    todo = np.flatnonzero(~data.labelled & ~data.failed)
    if len(todo) == 0:
        return data
    new_attrs = {"energy_method": method, **({"label_command": command} if command else {})}
    if any(data.attrs.get(k) != v for k, v in new_attrs.items()):
        with h5py.File(path, "r+") as f:
            f.attrs.update(new_attrs)
    pending: list[tuple[int, float, float, bool, str]] = []
    saved = 0

    def flush() -> None:
        nonlocal saved
        if pending:
            store_labels(path, *zip(*pending))
            saved += len(pending)
            pending.clear()

    with tqdm(
        total=len(data),
        initial=len(data) - len(todo),
        unit="structure",
        desc=f"{method} {path.name}",
        disable=not progress,
    ) as bar:
        try:
            with finished_batches(
                _label_one,
                zip(map(int, todo), data.structures(todo)),
                workers,
                timeout=flush_seconds,
                initializer=_init_worker,
                initargs=(method,),
            ) as batches:
                for batch in batches:
                    for result in batch:
                        pending.append(result)
                        bar.update()
                        if on_label:
                            on_label(result[0])
                    flush()
        except BrokenProcessPool:
            raise EDNNError(
                f"a labelling worker died (out of memory or crashed); {len(data) - len(todo) + saved + len(pending)} "
                f"labels are saved; run the same command again to go on"
            ) from None
        finally:
            flush()
    data = StructureFile(path)
    if data.failed.any() and not data.labelled.any():
        raise EDNNError(
            f"{path}: all {int(data.failed.sum())} structures failed with {method!r} "
            f"({first_failure(data)}); fix the method or choose another and run again"
        )
    return data
