"""What differs between a stored run and a requested one, in words."""

import numpy as np

from ednn.io.run_record import setting_differences, structure_difference
from ednn.systems.sheets import honeycomb

NAMES = {"temperature_K": ("temperature", "K"), "seed": ("seed", ""), "model": ("model", "")}


def test_each_differing_setting_is_named_with_both_values_and_its_unit():
    stored = {"temperature_K": 1000.0, "seed": 3, "model": None}
    assert setting_differences(stored, dict(stored), NAMES) == []
    assert setting_differences(stored, {"temperature_K": 300.5, "seed": 4, "model": "m.safetensors"}, NAMES) == [
        "temperature: 1000 K in file, 300.5 K requested", "seed: 3 in file, 4 requested",
        "model: none in file, m.safetensors requested"]
    assert setting_differences({}, {"temperature_K": 1e-7, "seed": 0, "model": None}, NAMES) == [
        "temperature: none in file, 0.0000001 K requested", "seed: none in file, 0 requested"]


def test_a_structure_is_the_same_modulo_its_cell_and_different_otherwise():
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
