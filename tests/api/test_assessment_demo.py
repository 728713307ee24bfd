"""The demo's visits (api/demo/visits.py) on the synthetic community: every worker with grids
gets visits at buildings of their own grids, none in the future, and the monthly table of the
last two months comes out of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from api.assessment.monthly import monthly_table, parse_month
from api.assessment.scope import Scope
from api.db import transaction
from api.demo.visits import seed_visits
from tests.conftest import gridded_city_database


@pytest.fixture(scope="module")
def url(pg_cluster):
    with gridded_city_database(pg_cluster, "assessment_demo") as url:
        yield url


def test_demo_visits_make_the_table(url):
    with transaction(url) as session:
        made = seed_visits(session, log=lambda _: None)
        staffed = session.scalar(text("SELECT count(DISTINCT worker_id) FROM worker_grids"))
        visitors, outside, future, flagged = session.execute(
            text("""
            SELECT count(DISTINCT v.worker_id),
                   count(*) FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM worker_grids wg
                       WHERE wg.worker_id = v.worker_id AND wg.grid_code = v.grid_code)),
                   count(*) FILTER (WHERE v.visited_at > now()),
                   count(*) FILTER (WHERE v.status = 'flagged')
            FROM household_visits v""")
        ).one()
    assert made > 0 and visitors == staffed > 0
    assert outside == 0 and future == 0
    assert 0 < flagged < made / 5
    now = datetime.now(UTC)
    previous = parse_month((now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m"), now=now)
    with transaction(url) as session:
        rows = monthly_table(session, month=previous, level="worker", scope=Scope(everything=True),
                             now=now)  # fmt: skip
        grids = monthly_table(session, month=previous, level="grid", scope=Scope(everything=True),
                              now=now)  # fmt: skip
    assert len(rows) >= staffed and sum(r["visits"] for r in rows) > 0
    assert sum(r["visits"] for r in rows) == sum(g["visits"] for g in grids)
    assert all(0 <= r["score"] <= 100 for r in rows)
