"""Smoke test of the editor benchmark (bench/planner_edit.py) on the one-community city: every
edit endpoint is timed, the page is drawn in chromium, and the Markdown block carries every
figure; no timing is asserted."""

from __future__ import annotations

import pytest

from api.settings import get_settings
from bench import planner_edit as bench
from tests.bench import test_maps_bench  # noqa: F401 - its chromium check skips (CI: fails) this too
from tests.conftest import load_gridded_city


@pytest.fixture
def city(db_url, monkeypatch):
    """The gridded community; bench.serve's settings (no base tiles or rate limits) undone
    afterwards."""
    load_gridded_city(db_url)
    for name in ("WANGGE_TILE_URL", "WANGGE_RATE_LIMIT"):
        monkeypatch.setenv(name, "none" if name.endswith("URL") else "false")
    yield db_url
    get_settings.cache_clear()


def test_editor_benchmark_runs_on_the_community_city(city):
    result = bench.measure(city, dataset="synthetic", runs=2, pages=1, log=lambda _: None)
    assert result["community"] == "990101001001" and result["grids"] >= 5
    edits = result["edits"]
    assert {"move", "split", "merge", "validate", "reshape"} <= set(edits)
    for name, figures in edits.items():
        assert figures["n"] >= 1 and 0 < figures["p50"] <= figures["p95"] <= figures["max"], name
    # edits answer with the whole layer: compression makes it several times smaller
    plain, zipped = edits["split"]["bytes"]
    assert 0 < zipped < plain / 3
    assert edits["validate"]["refused"] == edits["validate"]["not_ok"] == 0  # a valid layer
    assert edits["move"]["refused"] == 0  # each move's building has land touching its target
    ms, size = result["pages"]["community"]
    assert ms > 0 and size > 0
    table = bench.markdown([result])
    assert "| move |" in table and "p95" in table and "load average" in table
