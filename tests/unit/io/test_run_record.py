import re

import numpy as np
import pytest

from ednn.core.errors import EDNNError
from ednn.io.run_record import check_resume


def test_same_settings_pass_whatever_the_stored_types():
    stored = {"cells": np.array([4, 3]), "T": np.float64(300.0), "ok": np.bool_(True), "name": "rebo"}
    check_resume(stored, {"cells": [4, 3], "T": 300.0, "ok": True, "name": "rebo"}, "x.h5 was made", "")


def test_each_difference_is_named_in_one_line():
    names = {"T": ("temperature", "K"), "seed": ("seed", "")}
    message = (
        "x.h5 was run with other settings (temperature: 300 K in file, 500.5 K requested; "
        "seed: none in file, 2 requested; starting structure moved); use another file"
    )
    with pytest.raises(EDNNError, match=re.escape(message)):
        check_resume(
            {"T": np.float64(300.0)},
            {"T": 500.5, "seed": 2},
            "x.h5 was run",
            "use another file",
            names,
            also=[None, "starting structure moved"],
        )


def test_a_structure_is_the_same_modulo_its_cell_and_different_otherwise():
    from ednn.io.run_record import structure_difference
    from ednn.systems.sheets import honeycomb

    sheet = honeycomb((2, 2))[0]
    wrapped = sheet.copy()
    wrapped.positions += sheet.cell[0] - 2 * sheet.cell[1]  # whole cell vectors: the same structure
    assert structure_difference(sheet, wrapped) is None
    moved = sheet.copy()
    moved.positions[3, 0] += 1e-6
    other = sheet.copy()
    other.numbers[0] = 5
    stretched = sheet.copy()
    stretched.set_cell(sheet.cell.array * np.array([1.0, 1.0, 1.5]), scale_atoms=False)
    assert structure_difference(sheet, moved) == "starting structure: C16 in file, a different C16 requested"
    assert structure_difference(sheet, other) == "starting structure: C16 in file, a different C15B requested"
    assert structure_difference(sheet, stretched) is not None
