"""`wangge db dump` / `wangge db restore`: a round trip into a fresh database keeps every row
and every geometry; a non-empty target is refused unless --force; bad files are refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from api.grids.generation import generate_communities
from api.settings import get_settings
from api.storage import grids as store
from tests.api.test_grids_db import load_city, rows

runner = CliRunner()
GEOMETRY_TABLES = {
    "grids": "geom",
    "buildings": "footprint",
    "communities": "geom",
    "roads": "geom",
}


def tables(url: str) -> list[str]:
    found = rows(
        url,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'spatial_ref_sys' ORDER BY 1",
    )
    return [r[0] for r in found]


def counts(url: str) -> dict[str, int]:
    return {t: rows(url, f'SELECT count(*) FROM "{t}"')[0][0] for t in tables(url)}


def checksum(url: str, table: str, column: str) -> str:
    hexed = f"encode(ST_AsEWKB({column}), 'hex')"
    sql = f"SELECT md5(string_agg({hexed}, ',' ORDER BY id)) FROM {table}"
    return rows(url, sql)[0][0]


def point_at(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANGGE_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def fresh_db(pg_cluster):
    """An empty database with PostGIS only (no migrations), dropped afterwards."""
    name = "restore_target"
    pg_cluster.drop_database(name)
    pg_cluster.ensure_database(name)
    yield pg_cluster.url(name)
    from api.db import get_engine

    get_engine(pg_cluster.url(name)).dispose()
    pg_cluster.drop_database(name)


def test_dump_and_restore_round_trip(use_database, fresh_db, tmp_path, monkeypatch):
    source = use_database
    load_city(source)
    with transaction(source) as session:
        generate_communities(session, store.select_communities(session, every=True))
    before = counts(source)
    assert before["grids"] > 0 and before["buildings"] > 0 and before["alembic_version"] == 1
    sums = {t: checksum(source, t, c) for t, c in GEOMETRY_TABLES.items()}
    backup = tmp_path / "wangge.dump"

    result = runner.invoke(app, ["db", "dump", str(backup)])
    assert result.exit_code == 0, result.output
    assert backup.read_bytes()[:5] == b"PGDMP" and "dumped to" in result.output

    point_at(fresh_db, monkeypatch)
    result = runner.invoke(app, ["db", "restore", str(backup)])
    assert result.exit_code == 0, result.output
    assert counts(fresh_db) == before
    assert {t: checksum(fresh_db, t, c) for t, c in GEOMETRY_TABLES.items()} == sums

    # now it is not empty: refused without --force, nothing touched
    rows(fresh_db, "DELETE FROM grids WHERE valid_to IS NULL RETURNING id")
    emptied = counts(fresh_db)
    result = runner.invoke(app, ["db", "restore", str(backup)])
    assert result.exit_code == 1
    assert "not empty" in result.output and "--force" in result.output
    assert counts(fresh_db) == emptied

    result = runner.invoke(app, ["db", "restore", "--force", str(backup)])
    assert result.exit_code == 0, result.output
    assert counts(fresh_db) == before
    assert {t: checksum(fresh_db, t, c) for t, c in GEOMETRY_TABLES.items()} == sums


def test_bad_backup_files_are_refused(use_database, tmp_path):
    missing = runner.invoke(app, ["db", "restore", str(tmp_path / "nope.dump")])
    assert missing.exit_code == 1 and "no such backup file" in missing.output
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump")
    result = runner.invoke(app, ["db", "restore", "--force", str(junk)])
    assert result.exit_code == 1 and "not a pg_dump custom-format file" in result.output


def test_failed_restore_leaves_the_target_as_it_was(use_database, tmp_path):
    """A truncated backup fails part-way; the single transaction keeps the target intact."""
    load_city(use_database)
    backup = tmp_path / "full.dump"
    assert runner.invoke(app, ["db", "dump", str(backup)]).exit_code == 0
    cut = tmp_path / "cut.dump"
    data = backup.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    before = counts(use_database)
    result = runner.invoke(app, ["db", "restore", "--force", str(cut)])
    assert result.exit_code == 1 and "pg_restore failed" in result.output
    assert counts(use_database) == before


def test_dump_to_an_unwritable_place_fails_cleanly(use_database, tmp_path):
    result = runner.invoke(app, ["db", "dump", str(tmp_path / "no" / "such" / "dir.dump")])
    assert result.exit_code == 1 and "error" in result.output
