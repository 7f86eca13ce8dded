"""Train/validation/test splits of structure files keep each group on one side."""

import numpy as np

from ednn.io.splits import split_indices
from ednn.io.structures import StructureFile, write_structures
from ednn.systems.sheets import random_sheet
from ednn.train.structures import labelled_split


def test_groups_stay_on_one_side(tmp_path):
    structures = [random_sheet((5, 3), 0, k)[0] for k in range(60)]
    groups = np.repeat(np.arange(12), 5)
    path = write_structures(tmp_path / "g.h5", structures, {}, np.linspace(-400, -390, 60), groups=groups)
    parts = labelled_split(StructureFile(path), 0, 0.2, 0.2)
    sides = [set(groups[v]) for v in parts.values()]
    assert sum(len(v) for v in parts.values()) == 60
    assert all(not (a & b) for i, a in enumerate(sides) for b in sides[i + 1 :])


def test_without_groups_it_is_the_split_by_index(tmp_path):
    structures = [random_sheet((5, 3), 0, k)[0] for k in range(30)]
    path = write_structures(tmp_path / "s.h5", structures, {}, np.linspace(-400, -390, 30))
    parts = labelled_split(StructureFile(path), 3, 0.1, 0.2)
    expected = split_indices(30, 3, 0.1, 0.2)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(parts[name], expected[name])


def test_import_thins_a_structure_file_and_keeps_its_groups(ednn_cli, tmp_path):
    structures = [random_sheet((5, 3), 0, k)[0] for k in range(12)]
    groups = np.repeat(np.arange(4), 3)
    source = write_structures(tmp_path / "md.h5", structures, {}, np.linspace(-400, -390, 12), groups=groups)
    result = ednn_cli("import", source, tmp_path / "thin.h5", "--frames", "::2")
    assert result.returncode == 0, result.stderr
    thin = StructureFile(tmp_path / "thin.h5")
    np.testing.assert_array_equal(thin.group, groups[::2])
    np.testing.assert_allclose(thin.energy, np.linspace(-400, -390, 12)[::2])
