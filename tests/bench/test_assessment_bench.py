"""Smoke test of bench/assessment.py on one street office (20,000 households); no timing."""

from __future__ import annotations

from bench import assessment as bench


def test_one_street_month_both_ways_agree(db_url):
    numbers = bench.run(households=bench.district.HOUSEHOLDS_PER_STREET, repeat=1, url=db_url)
    d, m = numbers["district"], numbers["month"]
    assert d["households"] == 20_000 and d["grids"] == 50
    # 50 full-time workers × 40 visits + 500 building leads × 4; 30 cases per full-time
    # worker + 2 per building lead; one step per assigned case
    assert (m["visits"], m["cases"], m["case_events"]) == (4_000, 2_500, 1_500)
    # every worker's row came out the same both ways (bench.run raises otherwise)
    assert numbers["rows"] == {"workers": d["workers"], "grids": d["grids"]}
    for way in ("set_based_worker", "set_based_grid", "per_worker"):
        assert numbers[way]["server_cpu_s"] >= 0 and numbers[way]["wall_s"] > 0
    assert "per-worker statements" in bench.report(numbers)
