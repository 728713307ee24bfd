"""Schemathesis over /openapi.json, in process (ASGI): no operation answers 500.

One database with the synthetic city, its grids and an admin account serves the whole module;
requests carry the admin's token so that generated inputs get past sign-in (a 401/403 would be
fine too). Examples per operation are bounded (WANGGE_FUZZ_EXAMPLES, default 20) to keep the
run short; bench/fuzz.py runs the same fuzzers at scale.
"""

from __future__ import annotations

import os

import pytest

from api.db import get_engine
from bench import fuzz
from tests.conftest import TEMPLATE

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("WANGGE_FUZZ_EXAMPLES", "20"))
SAMPLE = int(os.environ.get("WANGGE_FUZZ_HOSTILE", "2"))  # hostile values per field and kind


@pytest.fixture(scope="module")
def fuzz_world(pg_cluster):
    name = f"fuzz_{os.getpid()}"
    pg_cluster.drop_database(name)
    pg_cluster.ensure_database(name, template=TEMPLATE)
    url = pg_cluster.url(name)
    admin = fuzz.prepare(url)  # the synthetic city, its grids, an admin signed in
    from api.main import create_app
    from api.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        for name_, value in fuzz.PATIENT.items():
            mp.setenv(name_, value)
        get_settings.cache_clear()
        yield create_app(url), admin
    get_settings.cache_clear()
    get_engine(url).dispose()
    pg_cluster.drop_database(name)


def test_no_operation_answers_500(fuzz_world):
    """Every operation of the schema, EXAMPLES generated requests each; all 500s listed."""
    app, admin = fuzz_world
    tally = fuzz.fuzz_operations(app, admin, examples=EXAMPLES)
    print("\n" + tally.report())
    assert len(tally.operations) > 20
    assert not tally.failures, tally.report()


def test_operations_refused_to_an_admin_are_fuzzed_as_their_roles(fuzz_world):
    """The operations an admin may not call (a volunteer's orders, a worker's visits …) are
    fuzzed as each other role until one gets past the role check: all are reached, no 500."""
    from fastapi.testclient import TestClient

    app, admin = fuzz_world
    with TestClient(app):
        url = app.state.database_url
    refused = fuzz.fuzz_operations(app, admin, examples=2).refused()
    assert refused
    tally = fuzz.fuzz_refused(app, refused, fuzz.role_accounts(url), examples=max(2, EXAMPLES // 4))
    print("\n" + tally.report())
    assert set(tally.reached_by) == refused, tally.stopped
    assert not tally.failures, tally.report()


def test_linked_operations_answer_no_500(fuzz_world):
    """Schemathesis' state machine: an answer's ids fed into the next request."""
    app, admin = fuzz_world
    tally = fuzz.fuzz_stateful(app, admin, scenarios=max(2, EXAMPLES // 4), steps=4)
    print("\n" + tally.report())
    assert tally.statuses.total() > 0
    assert not tally.failures, tally.report()


def test_hostile_values_answer_4xx_not_500(fuzz_world, monkeypatch):
    """Every operation's query parameters and body fields with hostile values: no 5xx (rate
    limits off, so that a 429 hides nothing)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    app, admin = fuzz_world
    with TestClient(app):
        url = app.state.database_url
    monkeypatch.setenv("WANGGE_RATE_LIMIT", "false")
    get_settings.cache_clear()
    try:
        with TestClient(create_app(url), raise_server_exceptions=False) as client:
            tally = fuzz.sweep(client, admin, sample=SAMPLE)
    finally:
        get_settings.cache_clear()
    print("\n" + tally.report())
    assert tally.statuses.total() > 200
    assert not tally.failures, tally.report()
