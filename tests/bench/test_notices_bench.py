"""Smoke test of bench/notices.py on one street office (20,000 households); no timing."""

from __future__ import annotations

from bench import notices as bench


def test_one_street_fans_out_to_everyone_both_ways(db_url):
    numbers = bench.run(households=bench.HOUSEHOLDS_PER_STREET, url=db_url)
    d, fast, slow = numbers["district"], numbers["set_based"], numbers["loop"]
    assert d["households"] == 20_000 and d["grids"] == 50 and d["micro_grids"] == 500
    # per grid a worker and a volunteer, per community a leader (5 grids) and an admin, per
    # micro-grid a building lead: 50 + 50 + 10 + 10 + 500 people, 50+50+50+10+500 rows
    assert fast["people"] == slow["people"] == 620
    assert fast["recipient_rows"] == slow["recipient_rows"] == 660
    assert fast["outbox_rows"] == slow["outbox_rows"] == 620
    assert "per-recipient loop" in bench.report(numbers)
