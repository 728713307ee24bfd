"""Smoke test of bench/geocode.py on one small city; it asserts no timing."""

from __future__ import annotations

from bench import geocode as bench


def test_quick_run_reports_every_measure():
    numbers = bench.run(1, 120, size="community")
    assert numbers["queries"] == 120 + 30
    assert numbers["wrong"] == 0
    assert sum(numbers["fake"].values()) == 0
    text = bench.report(numbers)
    assert "## Geocoding" in text and "baseline" in text
