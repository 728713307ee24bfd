"""`wangge grids generate --workers N`: communities divided on a local Dask cluster give the
same bytes as one worker, in file and DB mode, run as a script would run it (no TTY, no
COLUMNS, stdin from /dev/null); limits the input breaks stop the run before any division."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from api.db import transaction
from api.demo import datasets as demo
from data.synthetic import generate_city, write_city

WANGGE = [sys.executable, "-m", "api.cli"]
STREET = "990101001"


def wangge(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | (env or {})
    return subprocess.run(
        [*WANGGE, *map(str, args)], stdin=subprocess.DEVNULL, capture_output=True, text=True,
        env=environ, cwd=Path(__file__).resolve().parents[2], timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def street_files(tmp_path_factory):
    """Three communities of the synthetic street office, with their roads."""
    city = generate_city(size="street", seed=0)
    chosen = city.communities.sort_values("code").head(3)
    folder = tmp_path_factory.mktemp("street")
    paths = write_city(city, folder)
    chosen.to_file(folder / "three.geojson", driver="GeoJSON")
    return {**paths, "boundary": folder / "three.geojson"}


def generate_file(files, out: Path, *extra):
    return wangge(
        "grids", "generate", "--buildings", files["buildings"], "--boundary", files["boundary"],
        "--roads", files["roads"], "--level", "both", "--out", out, "--report",
        out.with_suffix(".report.json"), *extra,
    )  # fmt: skip


def test_two_workers_write_the_same_bytes_as_one(street_files, tmp_path):
    one, two = tmp_path / "one.geojson", tmp_path / "two.geojson"
    done = generate_file(street_files, one)
    assert done.returncode == 0, done.stderr
    done = generate_file(street_files, two, "--workers", "2")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    layer = json.loads(one.read_text(encoding="utf-8"))
    levels = {f["properties"]["level"] for f in layer["features"]}
    areas = {f["properties"]["code"][:12] for f in layer["features"]}
    assert levels == {"grid", "micro"} and len(areas) == 3  # three communities, both levels
    assert one.read_bytes() == two.read_bytes()  # geometry, codes, households, members
    assert (
        one.with_suffix(".report.json").read_bytes() == two.with_suffix(".report.json").read_bytes()
    )


def test_an_existing_scheduler_gives_the_same_bytes(street_files, tmp_path):
    from distributed import LocalCluster

    one, there = tmp_path / "one.geojson", tmp_path / "there.geojson"
    assert generate_file(street_files, one).returncode == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        done = generate_file(street_files, there, "--scheduler", cluster.scheduler_address)
    assert done.returncode == 0, done.stderr
    assert one.read_bytes() == there.read_bytes()


def test_a_code_prefix_past_999_grids_stops_before_any_division(street_files, tmp_path):
    out = tmp_path / "one-boundary.geojson"  # the street office's ~29,000 households as one area
    done = wangge(
        "grids", "generate", "--buildings", street_files["buildings"], "--boundary",
        street_files["streets"], "--min", "10", "--max", "20", "--out", out, "--workers", "2",
    )  # fmt: skip
    assert done.returncode == 1
    assert "一个编码前缀下最多 999 个" in done.stderr and "给出社区边界" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_no_workers_is_a_clear_error(street_files, tmp_path):
    done = generate_file(street_files, tmp_path / "never.geojson", "--workers", "0")
    assert done.returncode == 1 and "--workers 须至少为 1" in done.stderr


def test_an_unreachable_scheduler_is_a_clear_error(street_files, tmp_path):
    out = tmp_path / "never.geojson"
    done = generate_file(street_files, out, "--scheduler", "tcp://127.0.0.1:9")
    assert done.returncode == 1
    assert "连不上 Dask 调度器" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


# -- DB mode -----------------------------------------------------------------------------------


def rows(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql), params)
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


def layer(url: str, version: int) -> dict[str, tuple]:
    """code → (level, parent, households, members, WKB) of one version of every grid."""
    found = rows(
        url,
        "SELECT code, level, parent_code, households, members::text, ST_AsBinary(geom) "
        "FROM grids WHERE version = :v",
        v=version,
    )
    return {r[0]: (r[1], r[2], r[3], r[4], bytes(r[5])) for r in found}


@pytest.fixture
def street_db(use_database):
    with transaction(use_database) as session:
        demo.load_synthetic(session, size="street", log=lambda _: None)
    return use_database


def test_db_mode_on_two_workers_stores_what_one_worker_stores(street_db):
    env = {"WANGGE_DATABASE_URL": street_db}
    done = wangge("grids", "generate", "--street", STREET, "--workers", "2", env=env)
    assert done.returncode == 0, done.stderr
    communities = rows(street_db, "SELECT count(*) FROM communities")[0][0]
    assert f"{communities} of {communities} communities regenerated" in done.stdout
    assert "社区 communities" in done.stderr  # the progress bar, drawn without a terminal
    done = wangge("grids", "generate", "--street", STREET, env=env)
    assert done.returncode == 0, done.stderr
    parallel, serial = layer(street_db, 1), layer(street_db, 2)
    assert len({code[:12] for code in parallel}) == communities > 1
    assert parallel == serial


def test_db_mode_reports_a_community_past_a_limit_and_stores_the_others(street_db):
    first, *others = [c for (c,) in rows(street_db, "SELECT code FROM communities ORDER BY code")]
    rows(
        street_db,
        "UPDATE buildings SET households = 600000 WHERE id = (SELECT b.id FROM buildings b "
        "JOIN communities c ON c.id = b.community_id WHERE c.code = :code "
        "ORDER BY b.id LIMIT 1)",
        code=first,
    )
    env = {"WANGGE_DATABASE_URL": street_db}
    done = wangge("grids", "generate", "--street", STREET, "--level", "grid", "--workers", "2",
                  env=env)  # fmt: skip
    assert done.returncode == 1
    assert f"skipped {first}" in done.stderr and "未划分" in done.stderr
    assert "给出社区边界" in done.stderr
    stored = {c for (c,) in rows(street_db, "SELECT DISTINCT left(code, 12) FROM grids")}
    assert stored == set(others)


def test_small_areas_go_a_few_to_a_task_and_the_last_tasks_are_single():
    from api.grids.parallel import batch_areas

    sizes = [100 + i % 7 for i in range(40)] + [10] * 10 + [1000]
    batches = batch_areas(sizes, 2)
    assert sorted(i for b in batches for i in b) == list(range(len(sizes)))
    order = [i for b in batches for i in b]
    assert [sizes[i] for i in order] == sorted(sizes, reverse=True)  # largest first
    assert batches[0] == [50]  # the largest alone
    held = [sum(sizes[i] for i in b) for b in batches]
    assert max(held) < 2 * max(sizes) and len(batches) < len(sizes)
    assert all(len(b) == 1 for b in batches[-3:])  # the smallest close the run alone
    assert batch_areas([], 2) == [] and batch_areas([5], 3) == [[0]]
