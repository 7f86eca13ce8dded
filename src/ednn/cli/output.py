"""What the commands write: output file names, atomic text files, strict JSON, error summaries."""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from ednn.core.errors import EDNNError


def command_line() -> str:
    """The command as typed, for the provenance of the files it writes."""
    return shlex.join(["ednn", *sys.argv[1:]])


def require_suffix(path: Path, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file name that does not end in one of `suffixes`."""
    if path.suffix not in suffixes:
        raise EDNNError(f"{path}: the file name must end in {' or '.join(suffixes)}")


def require_new_structure_file(path: Path) -> None:
    """Refuse a structure file name that is not .h5/.hdf5 or that exists (they are never overwritten)."""
    require_suffix(path, (".h5", ".hdf5"))
    if path.exists():
        raise EDNNError(f"{path} exists; structure files are never overwritten (delete it first)")


@contextmanager
def output_place(path: Path) -> Iterator[None]:
    """Make the missing folders above the output file `path` and check that it can be written there, before any
    work is done; when the block raises, the (still empty) folders it made are removed again."""
    from ednn.io.paths import make_parent

    made = [folder for folder in path.parents if not folder.exists()]  # nearest first
    make_parent(path)
    try:
        if path.is_dir():
            raise EDNNError(f"cannot write {path}: it is a folder")
        try:
            if path.is_file():
                open(path, "ab").close()  # opened only to prove it can be written
            elif not path.exists():  # a device or FIFO is left alone: opening one may block
                tempfile.TemporaryFile(dir=path.parent).close()
        except OSError as exc:
            raise EDNNError(f"cannot write {path}: {exc.strerror or exc}") from None
        yield
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()
            except OSError:  # it holds what the block wrote: kept
                break
        raise


def write_output(path: Path, text: str, inputs: Sequence[Path] = ()) -> None:
    """Write an output text file: `-` to standard output; a device or FIFO as a stream; a symbolic
    link's target (the link stays); any other file atomically (a temporary file renamed into place),
    creating missing parent folders. Refuses a path that is one of the command's `inputs`."""
    from ednn.io.atomic import write_text
    from ednn.io.paths import make_parent

    if str(path) == "-":
        click.echo(text, nl=False)
        return
    if path.exists() and any(Path(given).exists() and os.path.samefile(path, given) for given in inputs):
        raise EDNNError(f"{path} is one of this command's inputs: write the output to another file")
    target = path.resolve() if path.is_symlink() else path
    try:
        if target.exists() and not target.is_file():  # /dev/stdout, a FIFO: no rename onto it
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(text)
            return
        make_parent(target)
        write_text(target, text)
    except OSError as exc:
        raise EDNNError(f"cannot write {path}: {exc.strerror or exc}") from None


def json_text(value: object) -> str:
    """Strict JSON (NaN and infinities as null) of a JSON-able value, indented, with a final newline."""

    def finite(v: object) -> object:
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [finite(x) for x in v]
        return v

    return json.dumps(finite(value), indent=1, allow_nan=False) + "\n"


def print_grid_summary(summary: dict, label: str) -> None:
    """Echo a grid model's error summary (the target's unit, per system and per site)."""
    if not summary:
        return
    n_sites = summary.get("n_sites")
    click.echo(f"{label}: {summary['n']} examples")
    click.echo(
        f"  median |error| per system {summary['median_abs_per_system']:.4g}   "
        f"per site {summary['median_abs_per_site']:.3g}"
    )
    click.echo(
        f"  mean   |error| per system {summary['mean_abs_per_system']:.4g}   "
        f"per site {summary['mean_abs_per_site']:.3g}"
    )
    if n_sites:
        click.echo(f"  {n_sites} sites per example, {summary['sites_per_second']:.3g} sites/s")


def print_atom_summary(summary: dict, label: str) -> None:
    """Echo an atom model's error summary (meV/Å², meV/atom, eV per structure)."""
    if not summary:
        return
    click.echo(f"{label}: {summary['n']} structures")
    for stat in ("median", "mean"):
        click.echo(
            f"  {stat:6} |error| {summary[f'{stat}_abs_meV_per_A2']:.4g} meV/Å²   "
            f"{summary[f'{stat}_abs_meV_per_atom']:.4g} meV/atom   {summary[f'{stat}_abs_eV']:.4g} eV/structure"
        )
    if "seconds_per_structure" in summary:
        click.echo(f"  {1000 * summary['seconds_per_structure']:.3g} ms per structure")
