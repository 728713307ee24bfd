"""Smoke test of the coordinate benchmark (bench/coords.py): it runs and both sides agree."""

from __future__ import annotations

from bench import coords as bench


def test_baseline_matches_the_vectorised_inverse_and_report_renders():
    result = bench.run(points=3_000, baseline_points=300, repeats=1)
    assert result["agreement_deg"] <= 1e-9
    assert result["round_trip_max_m"] < 0.5
    text = bench.report(result)
    assert "wangge / baseline" in text and "3,000" in text


def test_baseline_point_is_the_identity_outside_china():
    assert bench.gcj_to_wgs_point(2.35, 48.86) == (2.35, 48.86)
