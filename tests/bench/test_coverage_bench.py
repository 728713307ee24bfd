"""Smoke test of bench/coverage.py on one synthetic community; it asserts no timing."""

from __future__ import annotations

from bench import coverage as bench


def test_quick_run_reports_every_measure(db_url):
    numbers = bench.run("community", 3, url=db_url)
    assert numbers["isochrone_computed"]["n"] == numbers["isochrone_stored"]["n"] == 3
    assert numbers["circles"] == 3 * numbers["stations"]
    for key, share in numbers["baseline_shares"].items():
        assert numbers["shares"][key] <= share  # a walk is never shorter than the line
    m = numbers["mclp"]
    assert m["mclp_status"] == "Optimal"
    assert m["greedy_covered"] <= m["mclp_covered"] <= m["greedy_upper_bound"]
    text = bench.report(numbers)
    assert "### Stations API" in text and "baseline" in text
