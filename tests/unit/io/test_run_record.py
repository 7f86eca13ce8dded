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
    message = "x.h5 was run with other settings (temperature: 300 K in file, 500.5 K requested; " \
              "seed: none in file, 2 requested; starting structure moved); use another file"
    with pytest.raises(EDNNError, match=re.escape(message)):
        check_resume({"T": np.float64(300.0)}, {"T": 500.5, "seed": 2}, "x.h5 was run", "use another file",
                     names, also=[None, "starting structure moved"])
