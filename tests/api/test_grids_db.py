"""`wangge grids generate` in DB mode: versions in PostGIS, one transaction per run."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from api.demo import datasets as demo
from api.grids.generation import plan_assignments

runner = CliRunner()
COMMUNITY = "990101001001"  # the synthetic 'community' city's only community


def load_city(url: str, size: str = "community") -> None:
    with transaction(url) as session:
        demo.load_synthetic(session, size=size, log=lambda _: None)


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def generate(*args: str):
    return runner.invoke(app, ["grids", "generate", *args])


def current(url: str) -> dict[str, tuple]:
    """code → (level, parent_code, households, version) of the current layer."""
    found = rows(
        url,
        "SELECT code, level, parent_code, households, version FROM grids WHERE valid_to IS NULL",
    )
    return {r[0]: r[1:] for r in found}


@pytest.fixture
def city(use_database):
    load_city(use_database)
    return use_database


def test_one_community_becomes_version_1(city):
    result = generate("--community", COMMUNITY)
    assert result.exit_code == 0, result.output
    assert "1 of 1 communities regenerated" in result.output
    layer = current(city)
    grids = {c: v for c, v in layer.items() if v[0] == "grid"}
    micro = {c: v for c, v in layer.items() if v[0] == "micro"}
    assert grids and micro
    assert all(len(c) == 15 and c.startswith(COMMUNITY) for c in grids)
    assert all(len(c) == 18 and v[1] in grids and c.startswith(v[1]) for c, v in micro.items())
    assert {v[3] for v in layer.values()} == {1}
    # households conserved at both levels, and micro-grids add up to their grid
    total = rows(city, "SELECT sum(households) FROM buildings")[0][0]
    assert sum(v[2] for v in grids.values()) == total
    assert sum(v[2] for v in micro.values()) == total
    for code, (_, _, households, _) in grids.items():
        assert sum(v[2] for v in micro.values() if v[1] == code) == households
    # rows carry the community, members and a valid EPSG:4326 polygon
    checks = rows(
        city,
        "SELECT bool_and(c.code = :code), bool_and(ST_SRID(g.geom) = 4326), "
        "bool_and(GeometryType(g.geom) = 'POLYGON'), bool_and(ST_IsValid(g.geom)), "
        "bool_and(jsonb_array_length(g.members) > 0) "
        "FROM grids g JOIN communities c ON c.id = g.community_id",
        code=COMMUNITY,
    )
    assert checks == [(True, True, True, True, True)]
    members = rows(city, "SELECT members FROM grids WHERE level = 'grid' ORDER BY code LIMIT 1")
    building_id, households = members[0][0][0]
    assert isinstance(building_id, str) and isinstance(households, int)


def test_second_run_is_version_2_with_the_same_codes(city):
    assert generate("--community", COMMUNITY).exit_code == 0
    first = current(city)
    result = generate("--community", COMMUNITY)
    assert result.exit_code == 0, result.output
    second = current(city)
    # the engine is deterministic: same codes, same households, one version up
    assert second.keys() == first.keys()
    assert all(second[c][:3] == first[c][:3] and second[c][3] == 2 for c in first)
    # version 1 is kept as history, closed when version 2 began
    history = rows(
        city,
        "SELECT count(*), bool_and(old.valid_to = new.valid_from) FROM grids old "
        "JOIN grids new ON new.code = old.code AND new.version = 2 WHERE old.version = 1",
    )
    assert history == [(len(first), True)]
    # one current row per code, the partial unique index holds
    dupes = "SELECT count(*) FROM (SELECT code FROM grids WHERE valid_to IS NULL GROUP BY code HAVING count(*) > 1) d"  # noqa: E501
    assert rows(city, dupes) == [(0,)]
    assert rows(city, "SELECT count(*) FROM grids")[0][0] == 2 * len(first)


def test_partial_unique_index_refuses_a_second_current_row(city):
    assert generate("--community", COMMUNITY, "--level", "grid").exit_code == 0
    code = next(iter(current(city)))
    engine = create_engine(city)
    try:
        with pytest.raises(Exception, match="uq_grids_code_current"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO grids (code, level, households, version, geom) "
                    "SELECT code, level, households, version + 1, geom FROM grids WHERE code = :c"
                ),
                {"c": code},
            )
    finally:
        engine.dispose()


def test_levels_and_bounds_options(city):
    result = generate("--community", COMMUNITY, "--level", "grid", "--min", "600", "--max", "900")
    assert result.exit_code == 0, result.output
    layer = current(city)
    assert {v[0] for v in layer.values()} == {"grid"}
    assert all(600 <= v[2] <= 900 for v in layer.values())
    # a later run of level micro replaces the whole layer of the community
    assert generate("--community", COMMUNITY, "--level", "micro").exit_code == 0
    layer = current(city)
    assert {v[0] for v in layer.values()} == {"micro"}
    # micro-grids without grids above them: 18 digits, grid part 000, no parent
    assert all(c.startswith(COMMUNITY + "000") and v[1] is None for c, v in layer.items())


def test_all_reports_communities_without_polygon(city, tmp_path):
    with transaction(city) as session:
        session.execute(
            text("INSERT INTO communities (code, name) VALUES ('990101001002', '无界社区')")
        )
    report = tmp_path / "report.json"
    result = generate("--all", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "990101001002" in result.output and "no polygon" in result.output
    assert "1 of 2 communities regenerated" in result.output
    body = json.loads(report.read_text(encoding="utf-8"))
    by_code = {c["code"]: c for c in body["communities"]}
    assert by_code["990101001002"]["skipped"].startswith("no polygon")
    assert by_code[COMMUNITY]["skipped"] is None
    assert by_code[COMMUNITY]["report"]["grid"]["count"] > 0
    # only the community without a polygon named: nothing generated, non-zero exit
    result = generate("--community", "990101001002")
    assert result.exit_code == 1
    assert "no polygon" in result.output and "no grids were generated" in result.output


def test_unknown_codes_and_mixed_modes_are_clear_errors(city, tmp_path):
    result = generate("--community", "990101009009")
    assert result.exit_code != 0
    assert "unknown community code(s): 990101009009" in result.output
    result = generate("--street", "990101009")
    assert result.exit_code != 0 and "990101009" in result.output
    some_file = tmp_path / "b.geojson"
    some_file.write_text('{"type": "FeatureCollection", "features": []}')
    result = generate("--all", "--buildings", str(some_file))
    assert result.exit_code != 0 and "cannot be combined" in result.output
    result = generate("--level", "grid")
    assert result.exit_code != 0 and "--community" in result.output
    assert rows(city, "SELECT count(*) FROM grids") == [(0,)]


def test_locked_grids_are_kept_unless_forced(city):
    assert generate("--community", COMMUNITY, "--level", "grid").exit_code == 0
    rows(city, "UPDATE grids SET locked = true WHERE code = :c RETURNING 1", c=COMMUNITY + "001")
    result = generate("--community", COMMUNITY, "--level", "grid")
    assert result.exit_code == 1 and "locked" in result.output
    assert {v[3] for v in current(city).values()} == {1}
    result = generate("--community", COMMUNITY, "--level", "grid", "--force")
    assert result.exit_code == 0, result.output
    assert {v[3] for v in current(city).values()} == {2}


def test_street_run_conserves_households_per_community(use_database):
    load_city(use_database, size="street")
    result = generate("--street", "990101001", "--level", "grid")
    assert result.exit_code == 0, result.output
    per_community = rows(
        use_database,
        "SELECT c.code, b.households, g.households, g.grids FROM communities c "
        "JOIN (SELECT community_id, sum(households) AS households FROM buildings GROUP BY 1) b "
        "  ON b.community_id = c.id "
        "JOIN (SELECT community_id, sum(households) AS households, count(*) AS grids "
        "      FROM grids WHERE valid_to IS NULL GROUP BY 1) g ON g.community_id = c.id",
    )
    communities = rows(use_database, "SELECT count(*) FROM communities")[0][0]
    assert len(per_community) == communities > 1
    for code, buildings, grids, count in per_community:
        assert buildings == grids, code
        assert all(g.startswith(code) for (g,) in rows(
            use_database,
            "SELECT g.code FROM grids g JOIN communities c ON c.id = g.community_id "
            "WHERE c.code = :code", code=code,
        ))  # fmt: skip
        assert count >= 1


def test_plan_assignments_gives_every_grid_a_leader_and_a_full_timer():
    codes = [f"C{i}" for i in range(5)]
    workers = {"grid_leader": [1, 2, 3], "full_time": [4, 5, 6, 7, 8, 9], "part_time": [10, 11]}
    pairs = plan_assignments(codes, workers)
    for code in codes:
        assert sum(1 for w, c in pairs if c == code and w in workers["grid_leader"]) == 1
        assert any(c == code and w in workers["full_time"] for w, c in pairs)
    assert {w for w, _ in pairs} >= set(workers["full_time"]) | set(workers["part_time"])
    assert plan_assignments([], workers) == []


def test_concurrent_runs_queue_up_into_versions(city):
    from concurrent.futures import ThreadPoolExecutor

    from api.grids.generation import generate_db

    with ThreadPoolExecutor(3) as pool:
        runs = [pool.submit(generate_db, city, every=True, level="grid") for _ in range(3)]
        stamps = sorted(r.result().at for r in runs)
    versions = rows(
        city,
        "SELECT version, min(valid_from), count(*) FILTER (WHERE valid_to IS NULL) FROM grids "
        "GROUP BY version ORDER BY version",
    )
    assert [v for v, _, _ in versions] == [1, 2, 3]
    assert [at for _, at, _ in versions] == stamps
    assert [current for _, _, current in versions][:2] == [0, 0] and versions[2][2] > 0
