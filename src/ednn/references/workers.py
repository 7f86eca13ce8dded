"""Spawned worker processes with one thread each, results handed back as they finish.

Used by the slow reference calculations (labelling, REBO MD), which must not share cores
through OpenMP and must save what has finished when a run is interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager


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
    On leaving early — Ctrl-C or an error — queued tasks are cancelled without waiting;
    a dead worker surfaces as `concurrent.futures.process.BrokenProcessPool`.
    """
    threads = os.environ.get("OMP_NUM_THREADS")
    finished = False
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the workers, which start at the first submit
    executor = ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=initializer, initargs=initargs
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


def _restore(value: str | None) -> None:
    if value is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = value
