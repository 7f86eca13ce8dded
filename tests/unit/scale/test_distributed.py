"""The streaming block tasks on real Dask workers."""

import contextlib
import os
import signal
import socket
import threading
import time

import pytest

import ednn
from ednn.atoms.blocks import stream_energy
from ednn.core.errors import EDNNError
from ednn.io.giant import GiantFile, write_giant
from ednn.systems.sheets import random_sheet

distributed = pytest.importorskip("dask.distributed")
from ednn.scale.distributed import dask_energy  # noqa: E402

MODEL = "models/ablations/hexsheets-gfn1xtb-dense.safetensors"


@pytest.fixture(scope="module")
def giant(tmp_path_factory):
    path = tmp_path_factory.mktemp("giant") / "sheet.h5"
    return write_giant(path, random_sheet((15, 9), 2, 0)[0].repeat((4, 4, 1)))


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_a_retry_not_the_answer(giant):
    model = ednn.load(MODEL)
    with GiantFile(giant) as handle:
        expected = stream_energy(model, handle.bins, 32)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
    )
    client = distributed.Client(cluster)
    try:
        undisturbed = dask_energy(model, giant, block_pixels=32, progress=False, client=client)
        victim = next(iter(client.run(os.getpid).values()))
        threading.Timer(0.5, os.kill, (victim, signal.SIGKILL)).start()
        started = time.time()
        disturbed = dask_energy(model, giant, block_pixels=32, progress=False, client=client)
        assert time.time() - started > 0.5, "the run ended before the worker was killed"
    finally:
        client.close()
        cluster.close()
    assert undisturbed == pytest.approx(expected, rel=1e-9)
    assert disturbed == pytest.approx(undisturbed, rel=1e-9)


def test_an_unreachable_scheduler_is_one_line(giant):
    with pytest.raises(EDNNError, match="cannot reach a Dask scheduler at tcp://127.0.0.1:9"):
        dask_energy(ednn.load(MODEL), giant, scheduler="tcp://127.0.0.1:9", connect_timeout=1)


@contextlib.contextmanager
def fake_server(reply: bytes | None):
    """A local TCP server that answers every connection with `reply`, or never answers (None)."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            if reply is not None:
                conn.recv(65536)
                conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize(
    "reply", [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", None], ids=["http", "silent"]
)
def test_a_peer_that_is_not_a_scheduler_is_one_line_and_bounded(giant, reply):
    with fake_server(reply) as address:
        started = time.time()
        with pytest.raises(EDNNError, match=f"^cannot reach a Dask scheduler at {address}: [^\n]+$"):
            dask_energy(ednn.load(MODEL), giant, scheduler=address, connect_timeout=1)
    assert time.time() - started < 8


def test_a_real_scheduler_passes_the_probe():
    from ednn.scale.distributed import _client

    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        client = _client(None, cluster.scheduler_address, 5.0)
        try:
            assert client.scheduler_info()["type"] == "Scheduler"
        finally:
            client.close()
