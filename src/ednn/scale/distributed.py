"""The streaming block tasks on a Dask cluster: a LocalCluster of worker processes by default,
or any running scheduler by address.

Each task renders and evaluates one block from the giant-structure file (workers open the
file themselves, so a remote cluster needs the file on a shared path). The model goes to
every worker once. Results are fetched as they finish and assembled in block order with an
exact sum, so a worker lost mid-run costs the retry of its tasks, not the answer.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ednn.atoms.blocks import DEFAULT_BLOCK_PIXELS, BlockPlan, assemble, block_partial, plan_blocks
from ednn.atoms.model import AtomEDNN
from ednn.core.errors import EDNNError
from ednn.io.giant import GiantFile

TASK_RETRIES = 3
_open_files: dict[str, GiantFile] = {}


def _block_task(block: int, model: AtomEDNN, path: str, plan: BlockPlan) -> np.ndarray:
    torch.set_num_threads(1)
    if path not in _open_files:
        _open_files[path] = GiantFile(path)
    return block_partial(model, _open_files[path].bins, plan, block)


def _run_blocks(client, model: AtomEDNN, path: str, plan: BlockPlan, progress: bool) -> np.ndarray:
    """Per-block partials (blocks, model.target.sums + C). Dask retries a task whose worker died; if the
    model's copies went with it ('lost dependencies'), the missing blocks are sent again
    with a fresh copy of the model, up to TASK_RETRIES rounds."""
    from dask.distributed import KilledWorker, as_completed

    partials = np.empty((len(plan), model.target.sums + model.channels))
    pending = list(range(len(plan)))
    with tqdm(total=len(plan), unit="block", disable=not progress, desc="blocks") as bar:
        for _ in range(TASK_RETRIES + 1):
            shared_model = client.scatter(model, broadcast=True, hash=False)
            futures = client.map(
                _block_task, pending, model=shared_model, path=path, plan=plan, retries=TASK_RETRIES, pure=False
            )
            block_of = {future.key: block for future, block in zip(futures, pending)}
            failed = []
            for future in as_completed(futures):
                if future.status == "finished":
                    partials[block_of[future.key]] = future.result()
                    bar.update(1)
                elif future.status == "error" and not isinstance(future.exception(), KilledWorker):
                    future.result()  # a task's own error: raise it here
                else:
                    failed.append(block_of[future.key])
                future.release()
            pending = sorted(failed)
            if not pending:
                return partials
    raise EDNNError(f"{len(pending)} blocks failed on the Dask cluster after {TASK_RETRIES + 1} rounds")


def _probe_scheduler(address: str, timeout: float) -> None:
    """Connect to `address`, handshake and ask its identity, all within `timeout` s; raise if the
    peer is not a Dask scheduler. Runs on its own event loop in a helper thread, so it works
    whether or not the caller already runs one."""
    from distributed.comm import connect

    async def probe() -> dict:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    outcome: list = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(probe(), timeout)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout + 5.0)
    if not outcome:
        raise TimeoutError(f"no Dask handshake within {timeout} s")
    if isinstance(outcome[0], MemoryError):  # its first bytes read as an absurd Dask frame length
        raise ValueError("the peer does not speak the Dask protocol (an HTTP port such as the dashboard's?)")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    kind = outcome[0].get("type") if isinstance(outcome[0], dict) else None
    if kind != "Scheduler":
        raise ValueError(f"the peer answered as {kind or 'something else'}, not a scheduler")


def _client(workers: int | None, scheduler: str | None, connect_timeout: float):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise EDNNError(
            "Dask is not installed: pip install 'ednn[scale]' (or run without --workers/--scheduler)"
        ) from None
    if scheduler is not None:
        try:
            _probe_scheduler(scheduler, connect_timeout)
            return Client(scheduler, timeout=f"{connect_timeout}s")
        except Exception as exc:  # noqa: BLE001 - a non-Dask peer fails in arbitrary ways (MemoryError, …)
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) and not str(exc):
                reason = f"no Dask handshake within {connect_timeout} s"
            raise EDNNError(f"cannot reach a Dask scheduler at {scheduler}: {reason}") from None
    if workers is not None and workers < 1:
        raise EDNNError(f"need at least one Dask worker, got {workers}")
    cluster = LocalCluster(
        n_workers=workers or 1, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    return Client(cluster)


def dask_energy(
    model: AtomEDNN,
    path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    block_pixels: int = DEFAULT_BLOCK_PIXELS,
    progress: bool = True,
    client=None,
    connect_timeout: float = 10.0,
) -> float:
    """Total energy (eV) of the structure in a giant-structure file, its blocks run as Dask tasks.

    client: an existing `dask.distributed.Client` (left open); otherwise one is made from
    `scheduler` (an address such as tcp://host:8786, given up after `connect_timeout` s) or a
    LocalCluster of `workers` processes with one thread each, and closed at the end.
    """
    path = Path(path).resolve()
    model.eval()
    with GiantFile(path) as giant:
        plan = plan_blocks(model, giant.bins, block_pixels)
    own = client is None
    client = _client(workers, scheduler, connect_timeout) if own else client
    try:
        partials = _run_blocks(client, model, str(path), plan, progress)
    finally:
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    return assemble(model, plan, partials)
