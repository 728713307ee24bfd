"""Smoke test of the grid benchmark (bench/grids.py) on the one-community city.

It checks that the benchmark runs and that both engines produce regions covering every
household; it asserts no timing.
"""

from __future__ import annotations

import json
import math

import pytest
import shapely

from bench import grids as bench
from data.synthetic import generate_city


@pytest.fixture(scope="module")
def inputs() -> bench.Inputs:
    return bench.prepare(generate_city(size="community", seed=bench.SEED), "community")


def test_inputs_place_every_building(inputs):
    assert inputs.inside.all()
    assert inputs.total_households == int(inputs.buildings["households"].sum()) > 2_000
    assert (inputs.enclosure[inputs.inside] >= 0).all()


def test_voronoi_cells_tile_the_community(inputs):
    area = inputs.area_geoms[0]
    cells = bench.voronoi_cells(inputs.points, area)
    assert len(cells) == len(inputs.points)
    assert shapely.contains(cells, inputs.points).all()  # each cell is its own building's
    assert math.isclose(shapely.area(cells).sum(), area.area, rel_tol=1e-6)


def test_wangge_regions_cover_all_households(inputs):
    row = bench.measure(bench.timed(lambda: bench.run_wangge(inputs), 1), inputs)
    assert row["covers_all"]
    assert row["households"] == inputs.total_households
    assert row["regions"] >= inputs.total_households // 500
    assert row["within_share"] == 1.0
    assert 0 < row["polsby_popper_mean"] <= 1
    assert len(row["runs"]) == 1 and row["seconds"] > 0


def test_maxp_baseline_runs_and_covers_all_households(inputs):
    result = bench.compare(inputs, repeats=1, maxp_params=bench.MAXP_QUICK)
    ours, maxp = result["rows"]
    assert (ours["engine"], maxp["engine"]) == ("wangge", "max-p")
    for row in (ours, maxp):
        assert row["covers_all"]
        assert row["households"] == inputs.total_households
        assert row["split_compounds_small"] <= row["split_compounds_all"] <= row["compounds_all"]
    assert maxp["regions"] > 1
    assert maxp["households_min"] >= bench.MAXP["threshold"]  # max-p's floor constraint
    assert math.isfinite(result["ratio"]) and result["ratio"] > 0
    assert "max-p time / wangge time" in bench.comparison_table(result)


def test_cli_quick_scaling_runs_each_level_in_a_worker(tmp_path):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--no-baseline", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["scaling"]
    assert [(r["size"], r["level"]) for r in rows] == [("community", "both"), ("community", "grid")]
    for r in rows:
        assert r["households"] > 2_000 and r["peak_mb"] > 0
        assert r["grid"]["count"] > 0 and r["grid"]["within_bounds"] == r["grid"]["count"]
    assert rows[0]["micro"]["count"] > rows[0]["grid"]["count"]
    assert "micro" not in rows[1]
