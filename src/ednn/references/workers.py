"""Spawned worker processes with one thread each, results handed back as they finish.

Used by the slow reference calculations (labelling, REBO MD), which must not share cores
through OpenMP and must save what has finished when a run is interrupted. Workers end with
their parent, even one killed with SIGKILL: on Linux the kernel kills them (PR_SET_PDEATHSIG),
elsewhere a thread in each sees the pipe from the parent close; multiprocessing's resource
tracker then exits once no process holds its pipe.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@contextmanager
def finished_batches(
    function: Callable,
    tasks: Iterable,
    workers: int,
    *,
    timeout: float | None = None,
    initializer: Callable | None = None,
    initargs: tuple = (),
) -> Iterator[Iterator[list]]:
    """Run `function` on every task in `workers` spawned processes (OMP_NUM_THREADS=1 there).

    Yields an iterator of lists of results, each list what finished since the last one
    (possibly empty, after `timeout` seconds without a result, so the caller can save).
    On leaving early — Ctrl-C or an error — queued tasks are cancelled and running ones stopped
    without waiting; a dead worker surfaces as `concurrent.futures.process.BrokenProcessPool`.
    """
    threads = os.environ.get("OMP_NUM_THREADS")
    finished = False
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the workers, which start at the first submit
    context = multiprocessing.get_context("spawn")
    lifeline, held = context.Pipe(duplex=False)  # only this process holds `held`: it closes when we die
    executor = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), lifeline, initializer, initargs),
    )
    try:
        running = {executor.submit(function, task) for task in tasks}
        _restore(threads)

        def batches() -> Iterator[list]:
            nonlocal running
            while running:
                done, running = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                yield [future.result() for future in done]

        yield batches()
        finished = not running
    finally:
        _restore(threads)
        # waiting for idle workers after a complete run avoids a race at interpreter exit
        # (the pool's wake-up pipe closed under it: "Exception ignored … Bad file descriptor")
        executor.shutdown(wait=finished, cancel_futures=True)
        held.close()  # workers still running (after leaving early) end now
        lifeline.close()


def _start_worker(parent: int, lifeline: Connection, initializer: Callable | None, initargs: tuple) -> None:
    """In a worker: die with `parent` (process id), then run the caller's initializer."""
    if sys.platform.startswith("linux"):
        # the kernel sends SIGKILL when the thread that spawned us ends: the one that entered
        # finished_batches, which outlives the pool
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before we could ask to follow it
        os._exit(1)
    threading.Thread(target=_exit_when_closed, args=(lifeline,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_when_closed(lifeline: Connection) -> None:
    """Block until the parent's end of `lifeline` closes (it has died), then end this process."""
    with suppress(EOFError, OSError):
        lifeline.recv_bytes()
    os._exit(1)


def _restore(value: str | None) -> None:
    if value is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = value
