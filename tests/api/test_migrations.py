"""Migrations up and down, no drift from the models, and the schema's constraints."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from api.storage import migrate
from api.storage.migrate import include_object
from api.storage.models import Base

OUR_TABLES = {t.name for t in Base.metadata.sorted_tables}


@pytest.fixture
def empty_db(pg_cluster):
    name = "test_migrations_empty"
    pg_cluster.drop_database(name)
    pg_cluster.ensure_database(name)
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_db):
    assert migrate.current_revision(empty_db) is None
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()
    assert tables(empty_db) >= OUR_TABLES
    migrate.downgrade(empty_db, "base")
    assert migrate.current_revision(empty_db) is None
    assert not (OUR_TABLES & tables(empty_db))
    assert "spatial_ref_sys" in tables(empty_db)  # PostGIS itself is left alone
    migrate.upgrade(empty_db)
    assert tables(empty_db) >= OUR_TABLES


def test_models_match_migrations(db_url):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_spatial_indexes_are_gist(db_url):
    engine = create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT indexname FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'")
        ).scalars()
        names = set(rows)
    engine.dispose()
    assert {"ix_buildings_footprint", "ix_buildings_location", "ix_grids_geom"} <= names
    assert {"ix_communities_geom", "ix_stations_geom", "ix_cases_geom"} <= names


def _exec(url: str, sql: str, *params):
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute(sql, params)


def test_invalid_geometry_refused(db_url):
    bowtie = "SRID=4326;MULTIPOLYGON(((0 0,1 1,1 0,0 1,0 0)))"
    with pytest.raises(psycopg.errors.CheckViolation, match="ck_communities_geom_valid"):
        _exec(db_url, "INSERT INTO communities (code, name, geom) VALUES ('1', 'x', %s)", bowtie)


def test_wrong_srid_refused(db_url):
    square = "SRID=3857;MULTIPOLYGON(((0 0,1 0,1 1,0 1,0 0)))"
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        _exec(db_url, "INSERT INTO communities (code, name, geom) VALUES ('1', 'x', %s)", square)


def test_negative_households_refused(db_url):
    sql = (
        "INSERT INTO buildings (building_id, households, location) "
        "VALUES ('b1', %s, 'SRID=4326;POINT(118.8 32.0)')"
    )
    _exec(db_url, sql, 3)
    with pytest.raises(psycopg.errors.CheckViolation, match="households_nonnegative"):
        _exec(db_url, sql.replace("'b1'", "'b2'"), -1)


def test_codes_unique(db_url):
    sql = "INSERT INTO streets (code, name) VALUES ('320102002', %s)"
    _exec(db_url, sql, "a")
    with pytest.raises(psycopg.errors.UniqueViolation):
        _exec(db_url, sql, "b")


def test_grid_history_keeps_one_current_version(db_url):
    square = "SRID=4326;POLYGON((118.8 32,118.801 32,118.801 32.001,118.8 32.001,118.8 32))"
    insert = (
        "INSERT INTO grids (code, level, households, version, valid_from, valid_to, geom) "
        "VALUES ('320102002001001', 'grid', 400, %s, '2025-01-01', %s, %s)"
    )
    _exec(db_url, insert, 1, "2026-01-01", square)  # an old, closed version
    _exec(db_url, insert, 2, None, square)  # the current one
    with pytest.raises(psycopg.errors.UniqueViolation):
        _exec(db_url, insert, 3, None, square)  # a second current version
    with pytest.raises(psycopg.errors.CheckViolation, match="code_digits"):
        _exec(db_url, insert.replace("320102002001001", "12AB"), 1, None, square)
    with pytest.raises(psycopg.errors.CheckViolation, match="level_known"):
        _exec(db_url, insert.replace("'grid'", "'block'"), 4, "2026-01-02", square)
    with pytest.raises(psycopg.errors.CheckViolation, match="validity_ordered"):
        _exec(db_url, insert, 5, "2024-01-01", square)


def test_case_events_append_only(db_url):
    case = _exec(db_url, "INSERT INTO cases (category) VALUES ('dispute') RETURNING id").fetchone()
    _exec(db_url, "INSERT INTO case_events (case_id, to_status) VALUES (%s, 'reported')", case[0])
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        _exec(db_url, "UPDATE case_events SET note = 'changed'")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        _exec(db_url, "DELETE FROM case_events")
    count = _exec(db_url, "SELECT count(*) FROM case_events").fetchone()[0]
    assert count == 1
