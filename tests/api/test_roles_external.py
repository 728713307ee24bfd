"""Least privilege on an external PostGIS: an owner that is no superuser migrates and runs
`wangge db roles`; the service role it makes can do none of what the managed cluster's may not,
and the app works through it (start-up included)."""

from __future__ import annotations

import itertools
import os
import re

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql
from typer.testing import CliRunner

from api.cli import app
from api.db import get_engine
from api.main import create_app
from api.settings import get_settings
from api.storage import migrate
from tests.api.storage.test_service_role import REFUSED, _plain, assert_refused
from tests.api.test_grids_db import load_city

runner = CliRunner()
OWNER_PASSWORD = "Owner-pw-2026"
SERVICE_PASSWORD = "Service-pw-2026"
_numbers = itertools.count()


@pytest.fixture
def external(pg_cluster, monkeypatch):
    """A database owned by a role with CREATEROLE only (as a hosted PostGIS gives), PostGIS
    made by the superuser; WANGGE_DATABASE_URL is the owner's. Yields (owner URL, names)."""
    n = f"{os.getpid()}_{next(_numbers)}"
    owner, service, db = f"ext_owner_{n}", f"ext_service_{n}", f"ext_{n}"
    with pg_cluster.connect() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(owner), sql.Literal(OWNER_PASSWORD)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(*map(sql.Identifier, (db, owner)))
        )
    with pg_cluster.connect(db) as conn:
        conn.execute("CREATE EXTENSION postgis")
    port = pg_cluster.status().port
    url = f"postgresql+psycopg://{owner}:{OWNER_PASSWORD}@127.0.0.1:{port}/{db}"
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url, service
    get_settings.cache_clear()
    pg_cluster.drop_database(db)
    with pg_cluster.connect() as conn:
        for role in (service, owner):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _roles(*args: str):
    result = runner.invoke(app, ["db", "roles", *args])
    assert result.exit_code == 0, result.output
    return re.search(r"^WANGGE_DATABASE_URL=(\S+)$", result.output, re.M).group(1)


@pytest.fixture
def service_url(external):
    owner_url, service = external
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    url = _roles("--service-role", service, "--password", SERVICE_PASSWORD)
    assert url.startswith(f"postgresql+psycopg://{service}:{SERVICE_PASSWORD}@")
    yield url
    get_engine(url).dispose()


@pytest.mark.parametrize("statement", REFUSED)
def test_the_external_service_role_may_not(service_url, statement):
    assert_refused(service_url, statement)


def test_the_app_starts_and_works_through_the_external_service_role(external, service_url):
    owner_url, _ = external
    load_city(owner_url)
    migrate.upgrade(service_url)  # what `wangge serve` does first: at head, nothing to create
    with psycopg.connect(_plain(service_url)) as conn:
        me = conn.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                          "WHERE rolname = current_user").fetchone()  # fmt: skip
        assert me == (False, False, False)
    with TestClient(create_app(service_url)) as client:
        assert client.get("/api/health").status_code == 200
        category = client.get("/api/categories").json()[0]["code"]
        x, y = client.get("/api/stations").json()["features"][0]["geometry"]["coordinates"]
        body = {"lon": x, "lat": y, "category": category, "description": "外部库上报"}
        made = client.post("/api/cases", json=body)
        assert made.status_code == 201, made.text
    with psycopg.connect(_plain(owner_url)) as conn:
        stored = conn.execute("SELECT count(*) FROM cases WHERE description = '外部库上报'")
        assert stored.fetchone()[0] == 1


def test_a_second_run_keeps_the_password_and_grants_new_tables(external, service_url):
    owner_url, service = external
    with psycopg.connect(_plain(owner_url)) as conn:
        conn.execute("CREATE TABLE later_table (x int)")  # as a later migration would
    url = _roles("--service-role", service)
    assert ":KEPT@" in url
    with psycopg.connect(_plain(service_url)) as conn:
        conn.execute("INSERT INTO later_table VALUES (1)")
        conn.commit()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE later_table")


def test_the_owner_rotates_the_service_password(external, service_url):
    """An owner that is no superuser may reset the password of the role it made."""
    _, service = external
    url = _roles("--service-role", service, "--password", "Rotated-pw-2026")
    assert f"{service}:Rotated-pw-2026@" in url
    with psycopg.connect(_plain(url)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (service,)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(_plain(service_url)).close()  # the old password no longer signs in


def test_an_owner_that_may_not_create_roles_gets_a_clear_error(external, pg_cluster):
    owner_url, service = external
    owner = owner_url.split("//")[1].split(":")[0]
    with pg_cluster.connect() as conn:
        conn.execute(sql.SQL("ALTER ROLE {} NOCREATEROLE").format(sql.Identifier(owner)))
    result = runner.invoke(app, ["db", "roles", "--service-role", service])
    assert result.exit_code != 0
    assert "权限不足" in result.output and "Traceback" not in result.output


def test_the_migrate_unit_sets_up_the_service_role(external):
    """docs/deploy/wangge-migrate.service's commands, run here as the owner: the database is
    migrated and the service role it names can sign in and read, nothing more."""
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    owner_url, _ = external
    unit = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "wangge-migrate.service"
    commands = [
        shlex.split(line.removeprefix("ExecStart="))
        for line in unit.read_text().splitlines()
        if line.startswith("ExecStart=")
    ]
    assert [c[1:3] for c in commands] == [["db", "upgrade"], ["db", "roles"]]
    env = {**os.environ, "WANGGE_DATABASE_URL": owner_url, "WANGGE_SERVICE_PASSWORD": "Unit-pw-1"}
    wangge = str(Path(sys.executable).with_name("wangge"))
    for argv in commands:
        done = subprocess.run([wangge, *argv[1:]], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    service = re.search(r"^WANGGE_DATABASE_URL=(\S+)$", done.stdout, re.M).group(1)
    assert service.startswith("postgresql+psycopg://wangge_service:Unit-pw-1@")
    with psycopg.connect(_plain(service)) as conn:
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE audit_log")
