"""The red-points ledger: an award per order exactly once, each entry audited, and the rows
beyond the reach of the service's own database role (no UPDATE, DELETE or TRUNCATE)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api.db import get_engine, transaction
from api.points import ledger
from api.points.rules import rules
from api.storage.models import AuditEntry, PointsEntry
from tests.api.storage.test_service_role import _plain, assert_refused
from tests.conftest import own_database


@pytest.fixture(scope="module")
def url(pg_cluster):
    with own_database(pg_cluster, "points_ledger") as url:
        yield url


def test_an_order_is_awarded_once_by_its_rating(url):
    with transaction(url) as session:
        first = ledger.award_for_order(session, order_id=41, username="vol_a", stars=4)
    with transaction(url) as session:  # V1 retrying the rating's transaction
        again = ledger.award_for_order(session, order_id=41, username="vol_a", stars=4)
        other = ledger.award_for_order(session, order_id=42, username="vol_a", stars=2)
        nothing = ledger.award_for_order(session, order_id=44, username="vol_a", stars=1)
    assert first == rules().order_points(4) == 8
    assert again is None
    assert other == rules().order_points(2) == 2
    assert nothing is None  # one star earns no points: no entry
    with transaction(url) as session:
        assert ledger.balance(session, "vol_a") == first + other
        entries = ledger.history(session, "vol_a")
        assert [e.source for e in entries] == ["order:42", "order:41"]
        audited = session.scalar(
            select(func.count()).where(
                AuditEntry.action == "points.entry", AuditEntry.object_id == "vol_a"
            )
        )
        assert audited == 2


def test_a_rating_outside_one_to_five_is_refused(url):
    with transaction(url) as session, pytest.raises(ValueError, match="星级"):
        ledger.award_for_order(session, order_id=43, username="vol_b", stars=6)
    with transaction(url) as session:
        assert ledger.balance(session, "vol_b") == 0


REWRITES = [
    "UPDATE points_entries SET points = points + 100",
    "DELETE FROM points_entries",
    "TRUNCATE points_entries",
    "ALTER TABLE points_entries DISABLE TRIGGER ALL",
]


def test_the_service_role_cannot_rewrite_the_ledger(pg_cluster, url):
    with transaction(url) as session:
        ledger.award_for_order(session, order_id=7, username="vol_c", stars=5)
    service = pg_cluster.service_url(make_url(url).database)
    try:
        for statement in REWRITES:
            assert_refused(service, statement)
        with psycopg.connect(_plain(service)) as conn:  # appending is what it may do
            conn.execute(
                "INSERT INTO points_entries (account, points, kind, source) "
                "VALUES ('vol_c', -1, 'adjustment', 'correction:1')"
            )
    finally:
        get_engine(service).dispose()
    with transaction(url) as session:
        rows = session.scalars(select(PointsEntry.points).where(PointsEntry.account == "vol_c"))
        assert sorted(rows) == [-1, 10]
