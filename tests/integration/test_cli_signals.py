"""A run ended by SIGTERM (or SIGINT in a background job, whose shell ignores it) saves what it
finished and resumes, as after Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import h5py
import pytest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT-in-background"])
def test_a_signal_interrupts_cleanly_and_the_run_resumes(tmp_path, signum):
    out = tmp_path / "g.h5"
    command = [
        sys.executable,
        "-m",
        "ednn",
        "ising",
        "generate",
        str(out),
        "-L",
        "16",
        "-n",
        "2000",
        "--chunk-size",
        "10",
    ]
    ignore_int = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if signum == signal.SIGINT else None
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, preexec_fn=ignore_int)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until the first chunk is in the file
        time.sleep(0.2)
        try:
            with h5py.File(out, "r", locking=False) as handle:
                if handle.attrs.get("chunks_done", 0) > 0:
                    break
        except (OSError, FileNotFoundError):
            continue
    os.kill(process.pid, signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("interrupted: run the same command again to resume")
    with h5py.File(out, "r") as handle:
        assert not handle.attrs["complete"] and handle.attrs["chunks_done"] > 0
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
