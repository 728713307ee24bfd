"""Smoke test of the service-circle benchmark (bench/isochrones.py) on the Xuanwu extract.

It checks that every engine runs and that the shape scores are shares; it asserts no timing.
"""

from __future__ import annotations

import importlib.util

from bench import isochrones as bench


def test_quick_run_reports_every_number(capsys):
    results = bench.main(["--quick"])
    row = results["xuanwu"]
    assert row["stations"] == 8 and row["baseline_nx_stations"] == 4
    assert row["network"]["edges"] > 500
    for key in (
        "wangge_wall_s",
        "wangge_reach_wall_s",
        "wangge_prepare_wall_s",
        "single_station_ms_wall",
        "baseline_nx_wall_s",
        "ratio_nx",
    ):
        assert row[key] > 0
    assert row["wangge_polygons_wall_s"] == row["wangge_wall_s"] - row["wangge_reach_wall_s"]
    assert row["load_before"] and row["load_after"]
    for engine, per_minute in row["shape"].items():
        assert set(per_minute) == {"5", "10", "15"}, engine
        for scores in per_minute.values():
            assert 0 <= scores["recall"] <= 1 and 0 <= scores["false_share"] <= 1
    # wangge's polygons hold to the network: the buildings truly in reach, and few others
    assert row["shape"]["wangge"]["15"]["recall"] > row["shape"]["networkx+hull"]["15"]["recall"]
    for minutes, scores in row["shape"]["wangge"].items():
        assert scores["recall"] >= 0.97 and scores["false_share"] <= 0.05, minutes
    if importlib.util.find_spec("pandana"):
        assert row["pandana_reach_wall_s"] > 0 and row["pandana_hulls_wall_s"] > 0
        assert set(row["shape"]) == {"wangge", "networkx+hull", "pandana+hull"}
    assert "ratio baseline / wangge per station" in capsys.readouterr().out
