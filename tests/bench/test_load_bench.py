"""Smoke run of bench.load: a few clients for 3 s against `wangge serve --workers 1` and `2`,
rate limits on, case intake counted in the database (no timing asserts)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

from bench import load
from tests.api.test_grids_db import load_city, rows

pytestmark = pytest.mark.slow


def test_load_smoke(db_url):
    load_city(db_url)
    from api.db import transaction
    from api.grids.generation import generate_communities
    from api.storage import grids as store

    with transaction(db_url) as session:
        generate_communities(session, store.select_communities(session, every=True))
    runs, logs = load.compare(db_url, clients=6, seconds=3.0, workers=(1, 2))
    assert [r.name for r in runs] == ["1 worker(s)", "2 worker(s)"]
    for run in runs:
        assert run.requests > 0
        assert {"geocode", "tiles", "nearest", "intake"} <= set(run.latencies)
        assert run.error_count == 0, dict(run.statuses)
        assert run.acked, "no write was acknowledged"
        assert set(run.stored) == set(run.acked) and run.lost == run.duplicated == 0
    # the limiter ran: each client's token has its own buckets in the shared table
    buckets = "SELECT count(DISTINCT split_part(bucket, ':', 3)) FROM rate_buckets"
    assert rows(db_url, buckets)[0][0] >= 6
    text_ = load.report(runs)
    assert "throughput 2 worker(s) / 1 worker(s)" in text_ and "| lost |" in text_
    shutil.rmtree(logs)


def test_a_write_missing_from_the_database_counts_as_lost(db_url):
    """count_writes reads the markers back: an acknowledged marker with no row is lost, one
    stored twice is duplicated."""
    load_city(db_url)
    from api.db import transaction

    run = load.Run("probe", 1)
    run.acked = [f"load-{run.tag}-c0n1", f"load-{run.tag}-c0n2"]
    with transaction(db_url) as session:
        for _ in range(2):  # c0n1 stored twice, c0n2 never
            session.execute(
                text("UPDATE cases SET description = :d WHERE id = (SELECT min(id) FROM cases "
                     "WHERE description NOT LIKE 'load-%' OR description IS NULL)"),
                {"d": f"load-{run.tag}-c0n1"},
            )  # fmt: skip
    load.count_writes(db_url, run)
    assert run.stored[f"load-{run.tag}-c0n1"] == 2
    assert run.lost == 1 and run.duplicated == 1
