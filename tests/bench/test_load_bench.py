"""Smoke run of bench.load: 20 clients for 5 s against uvicorn on loopback (no timing asserts)."""

from __future__ import annotations

import shutil

import pytest

from bench import load
from tests.api.test_grids_db import load_city

pytestmark = pytest.mark.slow


def test_load_smoke(db_url):
    load_city(db_url)
    from api.db import transaction
    from api.grids.generation import generate_communities
    from api.storage import grids as store

    with transaction(db_url) as session:
        generate_communities(session, store.select_communities(session, every=True))
    runs = load.bench(db_url, clients=20, seconds=5.0, baseline_s=2.0, workers=1)
    baseline, run = runs["baseline"], runs["load"]
    assert baseline.requests > 0 and run.requests > 0
    assert {"health", "grids", "grid", "geocode", "reverse"} <= set(run.latencies)
    assert run.error_count == 0, (dict(run.statuses), runs["log"].read_text()[-2000:])
    text = load.report(runs)
    assert "20 clients" in text and "p99" in text
    shutil.rmtree(runs["log"].parent)
