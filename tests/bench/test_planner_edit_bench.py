"""Smoke test of the editor benchmark (bench/planner_edit.py) on the one-community city: every
edit endpoint is timed, the page is drawn in chromium, and the Markdown block carries every
figure; no timing is asserted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import planner_edit as bench
from tests.conftest import load_gridded_city

if not Path(bench.CHROMIUM).exists():  # pragma: no cover - set-up installs chromium
    if os.environ.get("CI"):  # never skipped in CI: a missing browser is a set-up failure
        pytest.fail("needs /usr/bin/chromium (./dev.sh setup)", pytrace=False)
    pytest.skip("needs /usr/bin/chromium (./dev.sh setup)", allow_module_level=True)


def test_editor_benchmark_runs_on_the_community_city(db_url, monkeypatch):
    load_gridded_city(db_url)
    monkeypatch.setenv("WANGGE_TILE_URL", "none")  # bench.serve sets both; undone afterwards
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    try:
        result = bench.measure(db_url, dataset="synthetic", runs=2, pages=1, log=lambda _: None)
    finally:
        from api.settings import get_settings

        get_settings.cache_clear()
    assert result["community"] == "990101001001" and result["grids"] >= 5
    edits = result["edits"]
    assert {"move", "split", "merge", "validate", "reshape"} <= set(edits)
    for name, figures in edits.items():
        assert figures["n"] >= 1 and 0 < figures["p50"] <= figures["p95"] <= figures["max"], name
    # edits answer with the whole layer: compression makes it several times smaller
    plain, zipped = edits["split"]["bytes"]
    assert 0 < zipped < plain / 3
    assert edits["validate"]["refused"] == 0  # the stored layer is valid
    ms, size = result["pages"]["community"]
    assert ms > 0 and size > 0
    table = bench.markdown([result])
    assert "| move |" in table and "p95" in table and "load average" in table
