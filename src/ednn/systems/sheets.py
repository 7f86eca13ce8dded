"""Planar B/C/N honeycomb sheets: graphene, hBN and their heterostructures (paper §3.2.1).

A sheet is `reps = (nx, ny)` rectangular four-atom honeycomb cells of a × a√3 Å
(a = 2.50 Å: the 60-site training cell is 5×3 cells = 12.50 × 12.99 Å), in the plane
z = vacuum/2 of a 3D-periodic cell `vacuum` Å high. Each structure is one of

- ``graphene``, ``hbn`` (B on one sublattice, N on the other),
- ``island``: round islands (radius 2–5 Å) of one material in the other,
- ``stripes``: stripes (width 2.5 Å to half the cell) of one material in the other,
- ``random``: graphene or hBN with a random fraction (0–50 %) of sites substituted by
  another of B, C, N,

then with probability ½ up to 5 % of the sites removed (vacancies), and in-plane thermal
displacements: each Cartesian component N(0, σ²) with σ uniform in [0, 0.07] Å per
structure (rms in-plane displacement up to 0.1 Å). Island and stripe counts grow with the
cell's area and length, so supercells have the same local statistics as the 60-site cell.
Structure k depends only on (seed, reps, k).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from ednn.core.errors import EDNNError

LATTICE_A = 2.50
"""Honeycomb lattice constant in Å (B–N ≈ C–C compromise; bond a/√3 = 1.443 Å)."""
VACUUM = 20.0
KINDS = ("graphene", "hbn", "island", "stripes", "random")
KIND_WEIGHTS = (0.1, 0.1, 0.25, 0.25, 0.3)
MAX_VACANCY_FRACTION = 0.05
MAX_DISPLACEMENT_SIGMA = 0.07
B, C, N = 5, 6, 7


def honeycomb(reps: tuple[int, int], a: float = LATTICE_A, vacuum: float = VACUUM) -> tuple[Atoms, np.ndarray]:
    """Pristine all-carbon sheet of reps rectangular cells, and each site's sublattice (0 or 1)."""
    b, d = a * np.sqrt(3.0), a / np.sqrt(3.0)
    base = np.array([[0.0, 0.0], [0.0, d], [a / 2, b / 2], [a / 2, b / 2 + d]]) + [a / 4, d / 4]
    cells = np.array([[i * a, j * b] for i in range(reps[0]) for j in range(reps[1])])
    xy = (cells[:, None, :] + base[None]).reshape(-1, 2)
    positions = np.column_stack([xy, np.full(len(xy), vacuum / 2)])
    sheet = Atoms(numbers=np.full(len(xy), C), positions=positions, cell=[reps[0] * a, reps[1] * b, vacuum], pbc=True)
    return sheet, np.tile([0, 1, 0, 1], len(cells))


def _material(sublattice: np.ndarray, hbn: bool) -> np.ndarray:
    return np.where(sublattice == 0, B, N) if hbn else np.full(len(sublattice), C)


def _periodic_distance(xy: np.ndarray, centre: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    delta = xy - centre
    delta -= lengths * np.round(delta / lengths)
    return np.linalg.norm(delta, axis=1)


def _numbers(
    kind: str, xy: np.ndarray, sublattice: np.ndarray, lengths: np.ndarray, scale: int, rng: np.random.Generator
) -> np.ndarray:
    hbn_background = bool(rng.integers(2))
    numbers = _material(sublattice, hbn_background)
    other = _material(sublattice, not hbn_background)
    if kind == "graphene":
        return np.full(len(xy), C)
    if kind == "hbn":
        return _material(sublattice, True)
    if kind == "island":
        inside = np.zeros(len(xy), bool)
        for _ in range(int(rng.integers(1, scale * scale + 1))):
            centre = rng.uniform(0, lengths)
            inside |= _periodic_distance(xy, centre, lengths) < rng.uniform(2.0, 5.0)
        return np.where(inside, other, numbers)
    if kind == "stripes":
        axis = int(rng.integers(2))
        inside = np.zeros(len(xy), bool)
        for _ in range(scale):
            widest = lengths[axis] / (2 * scale)
            start, width = rng.uniform(0, lengths[axis]), rng.uniform(min(2.5, widest), widest)
            inside |= (xy[:, axis] - start) % lengths[axis] < width
        return np.where(inside, other, numbers)
    if kind == "random":
        chosen = rng.random(len(xy)) < rng.uniform(0.0, 0.5)
        shift = rng.integers(1, 3, size=len(xy))  # to one of the two other elements
        substituted = B + (numbers - B + shift) % 3
        return np.where(chosen, substituted, numbers)
    raise ValueError(f"unknown sheet kind {kind!r}")


def random_sheet(reps: tuple[int, int], seed: int, index: int) -> tuple[Atoms, str]:
    """Structure `index` of the stream (seed, reps): an ase.Atoms and its kind."""
    rng = np.random.default_rng([seed, reps[0], reps[1], index])
    sheet, sublattice = honeycomb(reps)
    lengths = np.asarray(sheet.cell.lengths()[:2])
    scale = max(1, round(min(reps[0] / 5, reps[1] / 3)))
    kind = KINDS[int(rng.choice(len(KINDS), p=KIND_WEIGHTS))]
    sheet.numbers = _numbers(kind, sheet.positions[:, :2], sublattice, lengths, scale, rng)
    if rng.random() < 0.5:
        n_vacancies = int(rng.integers(0, int(MAX_VACANCY_FRACTION * len(sheet)) + 1))
        del sheet[rng.choice(len(sheet), size=n_vacancies, replace=False).tolist()]
    sigma = rng.uniform(0.0, MAX_DISPLACEMENT_SIGMA)
    sheet.positions[:, :2] += rng.normal(0.0, sigma, size=(len(sheet), 2))
    sheet.info["kind"] = kind
    return sheet, kind


def generate_sheet_file(
    path: str | Path, reps: tuple[int, int], count: int, seed: int, command: str = "", decimals: int | None = None
) -> Path:
    """Write structures 0..count-1 of the stream (seed, reps), unlabelled, to an HDF5 structure
    file, positions rounded to `decimals` of an Å if given (see `write_structures`)."""
    from ednn.io.paths import make_parent
    from ednn.io.structures import write_structures

    make_parent(path)  # a bad output path fails now, not after generating
    structures = [random_sheet(reps, seed, k)[0] for k in range(count)]
    # the generator's recorded name (committed data carry it; files of one stream compare it)
    attrs = {
        "generator": "ednn.atoms.sheets.random_sheet",
        "reps": list(reps),
        "seed": seed,
        "lattice_a": LATTICE_A,
        "vacuum": VACUUM,
        "command": command,
    }
    return write_structures(path, structures, attrs, decimals=decimals)


def _check_labels(labels: str | Path, columns: dict, attrs: dict, stream: tuple, structures: list[Atoms]) -> None:
    """Refuse a label file (`columns`, `attrs` from `read_labels`) of another sheet stream than
    `stream` = (cells, seed, decimals), or one whose sheets (`structures`, in its index order)
    regenerate to other fingerprints than were labelled."""
    from ednn.io.labels import fingerprint_checks

    recorded = (
        attrs.get("generator"),
        tuple(int(r) for r in attrs.get("reps", ())),
        attrs.get("seed"),
        attrs["decimals"],
    )
    if recorded != ("ednn.atoms.sheets.random_sheet", *stream):
        raise EDNNError(
            f"{labels} labels sheets of generator {recorded[0]!r}, cells {recorded[1]}, seed {recorded[2]}, decimals "
            f"{recorded[3]}; these are cells {stream[0]}, seed {stream[1]}, decimals {stream[2]}"
        )
    wrong = np.flatnonzero(fingerprint_checks(structures) != columns["check"])
    if len(wrong):
        raise EDNNError(
            f"{len(wrong)} of {len(structures)} sheets (first: index {columns['index'][wrong[0]]}) regenerate "
            f"otherwise than when {labels} was labelled: the generator changed, so these labels do not apply"
        )


def apply_labels(path: str | Path, labels: str | Path) -> int:
    """Store the labels of a label file in the generated sheet file `path` (the same stream, checked
    sheet by sheet); returns how many. Labelling `path` then computes only the others."""
    from ednn.io.labels import read_labels, stored_decimals
    from ednn.io.structures import StructureFile, store_labels

    data = StructureFile(path)
    columns, attrs = read_labels(labels)
    index = columns["index"]
    if len(index) and index.max() >= len(data):
        raise EDNNError(f"{labels} labels sheet {index.max()}; {path} holds {len(data)}: generate more")
    stream = (tuple(int(r) for r in data.attrs.get("reps", ())), data.attrs.get("seed"), stored_decimals(path))
    _check_labels(labels, columns, attrs, stream, data.structures(index.tolist()))
    store_labels(path, index, columns["energy"], columns["label_seconds"], columns["failed"], columns["failure_reason"])
    return len(index)


def restore_sheet_file(labels: str | Path, out: str | Path, progress: bool = False) -> Path:
    """Regenerate the labelled sheets of a label file (`ednn.io.labels`) into a new structure file
    `out` with their energies, checking that each regenerates to the fingerprint it was labelled with."""
    from tqdm.auto import tqdm

    from ednn.io.labels import read_labels
    from ednn.io.paths import make_parent
    from ednn.io.structures import store_labels, write_structures

    columns, attrs = read_labels(labels)
    if attrs.get("generator") != "ednn.atoms.sheets.random_sheet":
        raise EDNNError(f"{labels} labels {attrs.get('generator')!r} structures, not ednn's random sheets")
    make_parent(out)
    reps, seed, decimals = tuple(int(r) for r in attrs["reps"]), int(attrs["seed"]), attrs["decimals"]
    structures = []
    for k in tqdm(columns["index"], desc="regenerating", unit="sheet", disable=not progress):
        sheet = random_sheet(reps, seed, int(k))[0]
        if decimals is not None:
            sheet.positions = np.round(sheet.positions, decimals)
        structures.append(sheet)
    _check_labels(labels, columns, attrs, (reps, seed, decimals), structures)
    kept = {key: value for key, value in attrs.items() if key not in ("format", "source", "decimals")}
    write_structures(out, structures, {**kept, "restored_from": Path(labels).name}, decimals=decimals)
    rows = np.arange(len(structures))
    store_labels(out, rows, columns["energy"], columns["label_seconds"], columns["failed"], columns["failure_reason"])
    return Path(out)
