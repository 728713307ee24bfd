"""The red-points ledger: an award per order exactly once, each entry audited, and the rows
beyond the reach of the service's own database role (no UPDATE, DELETE or TRUNCATE)."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from api.accounts.roles import Principal
from api.db import get_engine, session_factory, transaction
from api.errors import ConflictError
from api.points import exchanges, ledger
from api.points.activities import local_today
from api.points.rules import rules
from api.storage.models import AuditEntry, PointExchange, PointReward, PointsEntry
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


def test_two_exchanges_at_once_never_overdraw(url):
    """The second request waits for the first one's account lock, then sees its hold."""
    account = Principal(username="res_race", role="resident")
    with transaction(url) as session:
        ledger.add_entry(session, account=account.username, points=10, kind="adjustment",
                         source="opening", created_by="test")  # fmt: skip
        reward = PointReward(community_code="990101001001", name="毛巾", cost=8, stock=5)
        session.add(reward)
        session.flush()
        reward_id = reward.id
    outcome: list[object] = []

    def second() -> None:
        try:
            with transaction(url) as session:
                outcome.append(exchanges.request_exchange(session, account, reward_id))
        except ConflictError as exc:
            outcome.append(exc)

    with session_factory(url)() as first, first.begin():
        exchanges.request_exchange(first, account, reward_id)  # holds the account's lock
        thread = threading.Thread(target=second)
        thread.start()
        _wait_for_a_blocked_lock(url)
    thread.join()
    (result,) = outcome
    assert isinstance(result, ConflictError) and "积分不足" in str(result)
    with transaction(url) as session:
        open_ = session.scalars(
            select(PointExchange.cost).where(PointExchange.account == account.username)
        ).all()
        assert open_ == [8] and exchanges.available(session, account.username) == 2


def test_the_same_order_awarded_at_once_is_counted_once(url):
    """V1 retrying while the first rating's transaction is still open: the second waits on
    the unique key and then writes nothing."""
    outcome: list[int | None] = []

    def second() -> None:
        with transaction(url) as session:
            outcome.append(ledger.award_for_order(session, order_id=77, username="vol_d", stars=3))

    with session_factory(url)() as first, first.begin():
        assert ledger.award_for_order(first, order_id=77, username="vol_d", stars=3) == 5
        thread = threading.Thread(target=second)
        thread.start()
        _wait_for_a_blocked_lock(url, locktype="transactionid")
    thread.join()
    assert outcome == [None]
    with transaction(url) as session:
        assert ledger.balance(session, "vol_d") == 5


def _wait_for_a_blocked_lock(url: str, tries: int = 2000, locktype: str = "advisory") -> None:
    with psycopg.connect(_plain(url), autocommit=True) as conn:
        for _ in range(tries):
            waiting = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = %s AND NOT granted AND "
                "(database IS NULL OR database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()))",
                (locktype,),
            ).fetchone()[0]
            if waiting:
                return
            conn.execute("SELECT pg_sleep(0.01)")
    raise AssertionError("the second request never waited for the first one's lock")


def test_activity_dates_are_checked_against_the_community_calendar(url):
    with transaction(url) as session:
        before = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        today = local_today(session)
        after = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert today in (before, after)
