"""Smoke test of the map benchmark (bench/maps.py) on the one-community city: it runs end to
end in chromium and reports every number; no timing is asserted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import maps as bench
from tests.conftest import load_gridded_city

if not Path(bench.CHROMIUM).exists():  # pragma: no cover - set-up installs chromium
    if os.environ.get("CI"):  # never skipped in CI: a missing browser is a set-up failure
        pytest.fail("needs /usr/bin/chromium (./dev.sh setup)", pytrace=False)
    pytest.skip("needs /usr/bin/chromium (./dev.sh setup)", allow_module_level=True)


def test_map_benchmark_runs_on_the_community_city(db_url, monkeypatch):
    load_gridded_city(db_url)
    monkeypatch.setenv("WANGGE_TILE_URL", "none")  # bench.serve sets both; undone afterwards
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    try:
        results = bench.run("community", runs=1, tiles=12, database_url=db_url, log=lambda _: None)
    finally:
        from api.settings import get_settings

        get_settings.cache_clear()
    assert results["counts"]["grids"] >= 5
    assert results["counts"]["micro_grids"] > results["counts"]["grids"]
    for name in bench.LAYER_SETS:
        for render in ("inline", "tiles"):
            ms, size = results["pages"][(name, render)]
            assert ms > 0 and size > 0
        # the inline page carries the features; the tile page only their addresses
        assert results["pages"][(name, "inline")][1] > results["pages"][(name, "tiles")][1]
    assert results["tiles"]["n"] == 12 and 0 < results["tiles"]["non_empty"] <= 1
    table = bench.markdown(results)
    assert "inline GeoJSON" in table and "p95" in table
