"""The committed data sets are the bytes they were committed as: datasets/SHA256SUMS holds the
digest of each (they were written before ednn stored checksums in its files, and are never
rewritten), so a damaged or edited copy fails here instead of shifting a documented number."""

import hashlib
from pathlib import Path

import pytest

DATASETS = Path(__file__).resolve().parents[2] / "datasets"
RECORDED = dict(line.split()[::-1] for line in (DATASETS / "SHA256SUMS").read_text().splitlines())


def test_every_committed_data_set_has_a_recorded_digest():
    assert sorted(RECORDED) == sorted(p.name for p in DATASETS.glob("*.h5"))


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_a_committed_data_set_matches_its_digest(name):
    assert hashlib.sha256((DATASETS / name).read_bytes()).hexdigest() == RECORDED[name]
