"""finished_batches: every task's result once, one OpenMP thread in each worker, the parent's
environment restored (spawned pools take about 1 s each here)."""

import math
import os
import time

import pytest

from ednn.references.workers import finished_batches


def test_every_result_comes_back_once_and_workers_run_one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    with finished_batches(math.sqrt, [1.0, 4.0, 9.0, 16.0, 25.0], 2) as batches:
        results = [value for batch in batches for value in batch]
    assert sorted(results) == [1.0, 2.0, 3.0, 4.0, 5.0]
    with finished_batches(os.getenv, ["OMP_NUM_THREADS"] * 3, 2) as batches:
        assert [value for batch in batches for value in batch] == ["1", "1", "1"]
    assert os.environ["OMP_NUM_THREADS"] == "7"


def test_a_timeout_yields_empty_batches_until_a_result_and_an_unset_variable_stays_unset(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    start = time.perf_counter()
    with finished_batches(time.sleep, [1.5], 1, timeout=0.1) as batches:
        seen = list(batches)
    assert seen[-1] == [None] and all(batch == [] for batch in seen[:-1])
    assert len(seen) >= 2  # the task sleeps 1.5 s: not done 0.1 s after it was submitted
    assert time.perf_counter() - start >= 1.5
    assert "OMP_NUM_THREADS" not in os.environ


def test_an_error_in_a_task_reaches_the_caller():
    with pytest.raises(ValueError, match="math domain error"), finished_batches(math.sqrt, [-1.0], 1) as batches:
        list(batches)
