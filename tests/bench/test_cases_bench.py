"""Smoke test of bench/cases.py on a tiny layer; it asserts no timing."""

from __future__ import annotations

from bench import cases as bench


def test_quick_run_counts_and_agrees(db_url):
    numbers = bench.run(
        grids=60, points=5_000, sample=40, agree=40, latency_n=10, threads=3, seconds=1.5,
        url=db_url,
    )  # fmt: skip
    assert numbers["grids"] == 60 and numbers["micro_grids"] >= 60
    b, s = numbers["bulk"], numbers["sustained"]
    assert b["full_rule_mismatches"] == "0/40"
    agree, contained = b["loop_agrees_on_contained"].split("/")
    assert agree == contained
    # the set-based PostGIS join, run on every point, finds the same grid for each contained one
    agree, contained = b["join_agrees_on_contained"].split("/")
    assert agree == contained and int(contained) > 4_000
    assert b["join_rows"] == int(contained)
    assert s["created"] > 0 and s["errors"] == 0
    assert s["lost"] == s["unanswered_stored"] == s["keys_stored_twice"] == 0
    assert s["stored"] == s["answered_ids"]
    assert "scaled, not run" in bench.report(numbers)
    assert "set-based" in bench.report(numbers)
