"""A killed parent takes its worker pool with it: no worker, nor multiprocessing's resource
tracker, outlives `kill -9` of a process inside `finished_batches` (Linux /proc walk)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

PARENT = textwrap.dedent("""
    import os, time
    from ednn.references.workers import finished_batches

    # the initializer announces each worker on standard output, unbuffered
    with finished_batches(time.sleep, [60, 60], 2, timeout=0.1, initializer=os.write, initargs=(1, b"ready\\n")) as b:
        for _ in b:
            pass
""")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _descendants(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in "ZX"  # a zombie has exited (whoever adopted it may not reap)


def test_killing_the_parent_ends_its_workers_and_the_resource_tracker():
    src = str(Path(__file__).parents[3] / "src")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, env=env)
    children: set[int] = set()
    try:
        for _ in range(2):
            assert parent.stdout.readline() == b"ready\n"
        children = _descendants(parent.pid)
        assert len(children) >= 3, children  # two workers and the resource tracker
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while (survivors := {pid for pid in children if _alive(pid)}) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not survivors, [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in survivors]
    finally:
        parent.kill()
        parent.wait()
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
