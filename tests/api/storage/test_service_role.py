"""The service's database role owns nothing: TRUNCATE, DISABLE TRIGGER, schema changes and
rewriting the append-only tables fail, while the API works as usual through it."""

from __future__ import annotations

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api import accounts
from api.db import get_engine, transaction
from api.main import create_app
from tests.api import cases_world

PASSWORD = "Service-role-2026"
REFUSED = [
    "TRUNCATE audit_log",
    "TRUNCATE cases CASCADE",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "ALTER TABLE case_events DISABLE TRIGGER USER",
    "UPDATE audit_log SET actor = 'nobody'",
    "DELETE FROM case_events",
    "DROP TABLE cases",
    "CREATE TABLE loot (x int)",
    "UPDATE alembic_version SET version_num = '0001'",
    # refused by the grants themselves: no row reaches a trigger, and service_order_events
    # and household_visits have none
    "UPDATE points_entries SET points = 0 WHERE false",
    "DELETE FROM service_order_events WHERE false",
    "UPDATE household_visits SET note = '' WHERE false",
]


@pytest.fixture
def service_url(pg_cluster, db_url):
    url = pg_cluster.service_url(make_url(db_url).database)
    yield url
    get_engine(url).dispose()


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def assert_refused(url: str, statement: str) -> None:
    """`statement` as the role of `url` fails for want of privilege."""
    with psycopg.connect(_plain(url)) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


@pytest.mark.parametrize("statement", REFUSED)
def test_the_service_role_may_not(service_url, statement):
    assert_refused(service_url, statement)


def test_the_service_role_owns_nothing_and_is_no_superuser(service_url):
    with psycopg.connect(_plain(service_url)) as conn:
        me = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                          "WHERE rolname = current_user").fetchone()  # fmt: skip
        assert me == (False, False, False)
        owned = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
            "WHERE r.rolname = current_user"
        ).fetchone()[0]
        assert owned == 0


def test_the_api_works_through_the_service_role(db_url, service_url):
    cases_world.build(db_url)
    with transaction(db_url) as session:
        accounts.create_user(session, "admin1", "admin", PASSWORD)
    with TestClient(create_app(service_url)) as client:
        bad = client.post("/api/auth/token", data={"username": "admin1", "password": "no"})
        assert bad.status_code == 401  # the failure is counted through the service role
        signed = client.post("/api/auth/token", data={"username": "admin1", "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        headers = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        body = {"lon": 118.805, "lat": 32.005, "category": "dispute", "description": "楼道堆物"}
        made = client.post("/api/cases", json=body)
        assert made.status_code == 201, made.text
        case = made.json()
        note = {"action": "supervise", "version": case["version"], "note": "督办"}
        stepped = client.post(f"/api/cases/{case['id']}/transitions", json=note, headers=headers)
        assert stepped.status_code == 200, stepped.text
        listed = client.get("/api/cases", headers=headers)
        assert [c["id"] for c in listed.json()["items"]] == [case["id"]]
        audit = client.get("/api/audit", headers=headers)
        assert {e["action"] for e in audit.json()} >= {"case.create", "case.transition"}
