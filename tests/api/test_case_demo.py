"""The demo's sample cases: routed, in several statuses, every step on record."""

from __future__ import annotations

from sqlalchemy import text

from api.db import transaction
from api.demo.cases import seed_cases


def test_seed_cases_on_the_synthetic_community(db_url):
    from api.demo.datasets import build_grids, load_synthetic

    with transaction(db_url) as session:
        load_synthetic(session, size="community", log=lambda _: None)
        build_grids(session, log=lambda _: None)
        lines = []
        seed_cases(session, log=lines.append)
    with transaction(db_url) as s:
        statuses = dict(s.execute(text("SELECT status, count(*) FROM cases GROUP BY 1")).all())
        unrouted = s.execute(text("SELECT count(*) FROM cases WHERE routing IS NULL")).scalar()
        steps = s.execute(
            text("SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id "
                 "WHERE c.status = 'closed'")
        ).scalar()  # fmt: skip
    assert unrouted == 0 and "routed" in lines[0]
    assert {"dispatched", "accepted", "in_progress", "resolved", "closed"} <= set(statuses)
    assert steps >= 7 * statuses["closed"]  # report, dispatch, accept … close
