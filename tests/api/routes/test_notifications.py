"""Reporters hear back: each status change queues one outbox message in the change's own
transaction; the sender job sends each once, retries failures with backoff, and two senders at
once share the outbox (SKIP LOCKED) without sending anything twice. Real PostGIS throughout."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from api.db import session_factory, transaction
from api.notifications import job, outbox, senders
from api.settings import get_settings
from api.storage import models
from tests.api import cases_world as w
from tests.api.cases_world import report
from tests.api.resident_client import resident_client

N = models.Notification


@pytest.fixture
def world(db_url, monkeypatch):
    with resident_client(db_url, monkeypatch) as client:
        yield client


def step(client, case_id, action, user="admin1", **kw):
    version = client.get(f"/api/cases/{case_id}", headers=client.headers_by[user]).json()
    body = {"action": action, "version": version["version"], **kw}
    r = client.post(f"/api/cases/{case_id}/transitions", json=body, headers=client.headers_by[user])
    assert r.status_code == 200, r.text
    return r.json()


def outbox_rows(url, case_id=None):
    with transaction(url) as s:
        query = select(N).order_by(N.id)
        if case_id is not None:
            query = query.where(N.case_id == case_id)
        return [
            {
                c: getattr(n, c)
                for c in (
                    "dedupe_key",
                    "channel",
                    "address",
                    "status",
                    "body",
                    "attempts",
                    "sent_at",
                    "last_error",
                )
            }  # fmt: skip
            for n in s.execute(query).scalars()
        ]


def test_each_status_change_queues_one_message_sent_once_by_the_log_sender(world, caplog):
    case = report(world, 118.805, 32.0025, reporter_phone="13812345678").json()
    anonymous = report(world, 118.806, 32.0026, category="environment.garbage").json()
    step(world, case["id"], "accept")
    step(world, case["id"], "note", note="已到现场")  # no status change: no message
    step(world, case["id"], "resolve")
    step(world, anonymous["id"], "accept")
    # a refused change (stale version) queues nothing
    stale = {"action": "start", "version": 1}
    r = world.post(f"/api/cases/{case['id']}/transitions", json=stale,
                   headers=world.headers_by["admin1"])  # fmt: skip
    assert r.status_code == 409
    rows = outbox_rows(world.db_url, case["id"])
    assert [r["status"] for r in rows] == ["accepted", "resolved"]
    assert {r["channel"] for r in rows} == {"sms"} and rows[0]["address"] == "13812345678"
    assert "网格员已接单" in rows[0]["body"] and "已办结" in rows[1]["body"]
    assert case["receipt"] not in rows[1]["body"]  # the receipt never leaves in a message
    (other,) = outbox_rows(world.db_url, anonymous["id"])
    assert other["channel"] == "status_page" and other["address"] is None

    settings = get_settings()
    sessions = session_factory(world.db_url)
    with caplog.at_level(logging.INFO, logger="wangge.notifications"):
        assert job.send_due(sessions, senders.senders_from(settings)) == (3, 0)
        assert job.send_due(sessions, senders.senders_from(settings)) == (0, 0)
    lines = [r.getMessage() for r in caplog.records if r.name == "wangge.notifications"]
    assert len(lines) == 3
    assert any("138****5678" in line and "已办结" in line for line in lines)
    assert not any("13812345678" in line for line in lines)  # the phone is masked in the log
    assert all(r["sent_at"] is not None and r["attempts"] == 1 for r in outbox_rows(world.db_url))


class Flaky:
    """Fails the first `failures` sends, then records each message it delivers."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[str] = []

    def send(self, note) -> None:
        if self.failures:
            self.failures -= 1
            raise senders.SendError("gateway answered 503")
        self.delivered.append(note.dedupe_key)


def test_a_failed_send_is_retried_after_its_backoff_and_sent_once(world):
    case = report(world, 118.805, 32.0025, reporter_phone="13900001111").json()
    step(world, case["id"], "accept")
    sessions = session_factory(world.db_url)
    flaky = Flaky(failures=1)
    channels = {"sms": flaky}
    assert job.send_due(sessions, channels, backoff_s=3600) == (0, 1)
    (row,) = outbox_rows(world.db_url)
    assert row["sent_at"] is None and row["attempts"] == 1 and "503" in row["last_error"]
    assert job.send_due(sessions, channels, backoff_s=3600) == (0, 0)  # not due yet
    with transaction(world.db_url) as s:  # the backoff has passed
        s.execute(text("UPDATE notifications SET next_attempt_at = now() - interval '1 second'"))
    assert job.send_due(sessions, channels) == (1, 0)
    assert job.send_due(sessions, channels) == (0, 0)
    (row,) = outbox_rows(world.db_url)
    assert flaky.delivered == [row["dedupe_key"]]
    assert row["sent_at"] is not None and row["attempts"] == 2 and row["last_error"] is None


def test_a_message_that_keeps_failing_stops_after_max_attempts(world):
    case = report(world, 118.805, 32.0025, reporter_phone="13900001111").json()
    step(world, case["id"], "accept")
    sessions = session_factory(world.db_url)
    flaky = Flaky(failures=99)
    for _ in range(3):
        job.send_due(sessions, {"sms": flaky}, backoff_s=0, max_attempts=3)
    assert job.send_due(sessions, {"sms": flaky}, backoff_s=0, max_attempts=3) == (0, 0)
    (row,) = outbox_rows(world.db_url)
    assert row["attempts"] == 3 and row["sent_at"] is None and flaky.delivered == []


def test_two_senders_at_once_share_the_outbox_and_send_nothing_twice(world):
    case = report(world, 118.805, 32.0025, reporter_phone="13900002222").json()
    with transaction(world.db_url) as s:
        row = s.get(models.Case, case["id"])
        for version in range(2, 32):
            outbox.queue_status_change(s, row, status="accepted", version=version)
    sessions = session_factory(world.db_url)
    first_holds, second_done = threading.Event(), threading.Event()
    sent: dict[str, list[str]] = {"first": [], "second": []}

    class Holding:
        """The first sender keeps its batch locked until the second has sent its own."""

        def __init__(self, name):
            self.name = name

        def send(self, note):
            sent[self.name].append(note.dedupe_key)
            if self.name == "first":
                first_holds.set()
                second_done.wait(30)

    def first():
        job.send_due(sessions, {"sms": Holding("first")}, batch=10)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_holds.wait(30)
    # the first batch is locked: the second sender skips it and takes the next ten
    assert job.send_due(sessions, {"sms": Holding("second")}, batch=10) == (10, 0)
    second_done.set()
    thread.join(30)
    assert len(sent["first"]) == 10 and not set(sent["first"]) & set(sent["second"])
    while job.send_due(sessions, {"sms": Holding("second")}, batch=10)[0]:
        pass
    everything = sent["first"] + sent["second"]
    assert len(everything) == len(set(everything)) == 30
    assert all(r["sent_at"] is not None for r in outbox_rows(world.db_url))


def test_the_service_sends_queued_messages_by_itself(db_url, monkeypatch, caplog):
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    monkeypatch.setenv("WANGGE_NOTIFY_POLL_S", "0.2")
    get_settings.cache_clear()
    w.build(db_url)
    from api.main import create_app

    logs = caplog.at_level(logging.INFO, logger="wangge.notifications")
    with logs, TestClient(create_app(db_url)) as client:
        client.headers_by = w.accounts(db_url)
        case = report(client, 118.805, 32.0025, reporter_phone="13812340000").json()
        step(client, case["id"], "accept")
        deadline = time.monotonic() + 30
        while outbox_rows(db_url)[0]["sent_at"] is None and time.monotonic() < deadline:
            time.sleep(0.1)
    get_settings.cache_clear()
    (row,) = outbox_rows(db_url)
    assert row["sent_at"] is not None
    assert any(row["dedupe_key"] in r.getMessage() for r in caplog.records)
