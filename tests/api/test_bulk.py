"""Bulk jobs on Dask: `wangge geocode` and `wangge cases import` on two workers (an existing
local Dask cluster, started once for the module) give the same output as one worker, in the
input's order, over many small partitions; bad input reported in Chinese, nothing half-written."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.addresses import files as geocode_files
from api.cases import imports
from api.cli import app
from api.db import transaction
from bench.geocode import build_base
from tests.api import cases_world as w

runner = CliRunner()


@pytest.fixture(scope="module")
def scheduler():
    """An existing Dask cluster of two one-thread processes (what --scheduler points at)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as cluster:  # fmt: skip
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A street office's address base and messy queries of it, ~1,000 lines with blanks."""
    base, buildings = build_base(1, size="street")
    folder = tmp_path_factory.mktemp("places")
    base.to_file(folder / "places.geojson", driver="GeoJSON")
    rng = np.random.default_rng(3)
    lines = []
    for address in buildings["address"]:
        lines.append(address)
        lines.append(address.removeprefix("江苏省示范市滨江区") + "旁边")
        lines.append(
            f"{address}{rng.integers(1, 4)}单元{rng.integers(1, 19)}0{rng.integers(1, 5)}室"
        )
    lines += ["", "不存在的小区9栋", "!!!"]
    rng.shuffle(lines)
    return folder / "places.geojson", lines


def _geocode(index, src, out, *extra):
    args = ["geocode", "--index", str(index), "--in", str(src), "--out", str(out), *extra]
    return runner.invoke(app, args)


def test_geocode_on_two_workers_writes_what_one_writes(places, scheduler, tmp_path, monkeypatch):
    index, lines = places
    monkeypatch.setattr(geocode_files, "PART_LINES", 97)  # many partitions, the last one short
    src = tmp_path / "addresses.txt"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert (done := _geocode(index, src, one)).exit_code == 0, done.output
    assert (done := _geocode(index, src, two, "--scheduler", scheduler)).exit_code == 0, done.output
    assert two.read_bytes() == one.read_bytes()
    records = [json.loads(x) for x in one.read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in records] == lines  # the input's order, one line each
    levels = {r["level"] for r in records}
    assert {"houseno", "none"} <= levels
    # a bad byte deep in the file: a clear error, no output and no partial file left behind
    src.write_bytes(src.read_bytes() + b"\xff\n")
    bad = tmp_path / "bad.jsonl"
    done = _geocode(index, src, bad, "--scheduler", scheduler)
    assert done.exit_code == 1 and "not UTF-8" in done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["addresses.txt", "one.jsonl", "two.jsonl"]


CATEGORIES = ("dispute", "environment.garbage", "work_safety.gas", "dispute.neighbour")
ROWS = 360


def _cases_csv(path, rows):
    lines = ["case_id,lon,lat,category,description,reported_at"]
    lines += [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good_rows():
    """Points over the whole street office (grids, margins, the gridless community, beyond)."""
    rng = np.random.default_rng(11)
    x = rng.uniform(118.788, 118.842, ROWS).round(6)
    y = rng.uniform(31.988, 32.022, ROWS).round(6)
    return [
        (
            f"K{i}",
            x[i],
            y[i],
            CATEGORIES[i % 4],
            f"第{i}件",
            f"2026-12-0{1 + i % 3}T08:{i % 60:02d}:00+08:00",
        )
        for i in range(ROWS)
    ]


def _stored(url) -> tuple[list, list]:
    with transaction(url) as s:
        cases = s.execute(
            text(
                "SELECT id, external_id, category, description, status, grid_code, "
                "micro_grid_code, community_code, street_code, assignee_id, reported_at, due_at, "
                "ST_AsEWKT(geom), source_lon, source_lat, handling_level, department, priority, "
                "queue, routing, route_distance_m FROM cases ORDER BY id"
            )
        ).all()
        events = s.execute(
            text(
                "SELECT id, case_id, actor, from_status, to_status, kind, action, at, data "
                "FROM case_events ORDER BY id"
            )
        ).all()
    return cases, events


def test_cases_import_on_two_workers_stores_what_one_stores(
    use_database, scheduler, tmp_path, monkeypatch
):
    w.build(use_database)
    monkeypatch.setattr(imports, "PART", 41)
    path = _cases_csv(tmp_path / "cases.csv", _good_rows())
    # some rows lie outside the street office: left out with --skip-invalid
    assert runner.invoke(app, ["cases", "import", str(path), "--skip-invalid"]).exit_code == 0
    one = _stored(use_database)
    with transaction(use_database) as s:
        s.execute(text("TRUNCATE cases, case_events RESTART IDENTITY CASCADE"))
    args = ["cases", "import", str(path), "--skip-invalid", "--scheduler", scheduler]
    assert (done := runner.invoke(app, args)).exit_code == 0, done.output
    two = _stored(use_database)
    assert two == one
    cases, events = one
    assert ROWS / 2 < len(cases) < ROWS  # those beyond the street office left out
    assert {c.status for c in cases} == {"dispatched", "transferred", "reported"}
    assert {c.routing for c in cases} == {"contained", "nearest", "community", "street"}
    assert len({c.assignee_id for c in cases if c.assignee_id}) >= 3  # load spread in order
    assert len(events) == len(cases) + sum(c.status != "reported" for c in cases)


def test_bad_rows_are_reported_in_chinese_and_nothing_is_stored(
    use_database, scheduler, tmp_path, monkeypatch
):
    w.build(use_database)
    monkeypatch.setattr(imports, "PART", 2)
    rows = [
        ("B1", 118.805, 32.0025, "dispute", "好的", ""),
        ("B2", 200, 32, "dispute", "经度错", ""),
        ("B3", 118.805, 32.0025, "nope", "类别错", ""),
        ("B1", 118.805, 32.0025, "dispute", "重复", ""),
        ("B5", 100.0, 30.0, "dispute", "远处", ""),
        ("B6", 118.805, 32.0025, "dispute", "时间错", "昨天"),
        ("B7", 118.806, 32.003, "dispute", "也好", ""),
    ]
    path = _cases_csv(tmp_path / "bad.csv", rows)
    done = runner.invoke(app, ["cases", "import", str(path), "--scheduler", scheduler])
    assert done.exit_code == 1
    for needle in (
        "文件第 3 行，第 2 条 (line 3, row 2, B2): 经纬度超出范围",
        "文件第 4 行，第 3 条 (line 4, row 3, B3): 未知的事件类别 'nope'",
        "文件第 5 行，第 4 条 (line 5, row 4, B1): 编号 'B1' 与前面的行重复",
        "文件第 6 行，第 5 条 (line 6, row 5, B5): 不在任何网格、社区或街道范围内",
        "文件第 7 行，第 6 条 (line 7, row 6, B6): 上报时间 '昨天' 不是日期和时间",
        "5 行有误，未导入任何数据",
    ):
        assert needle in done.output
    assert "第 1 条" not in done.output and "第 7 条" not in done.output
    # a blank line in the file: rows no longer match lines, so only the row is named
    path.write_text(path.read_text(encoding="utf-8").replace("\n", "\n\n", 1), encoding="utf-8")
    done = runner.invoke(app, ["cases", "import", str(path)])
    assert done.exit_code == 1 and "第 2 条 (row 2, B2): 经纬度超出范围" in done.output
    with transaction(use_database) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM case_events")).scalar() == 0
    args = ["cases", "import", str(path), "--skip-invalid", "--scheduler", scheduler]
    assert (done := runner.invoke(app, args)).exit_code == 0, done.output
    with transaction(use_database) as s:
        got = s.execute(text("SELECT external_id FROM cases ORDER BY id")).scalars().all()
    assert got == ["B1", "B7"]
    empty = _cases_csv(tmp_path / "empty.csv", [])
    assert (done := runner.invoke(app, ["cases", "import", str(empty)])).exit_code == 0, done.output


@pytest.mark.parametrize("on_dask", [False, True])
def test_a_bad_last_row_leaves_nothing_though_earlier_parts_were_sent(
    use_database, scheduler, tmp_path, monkeypatch, on_dask
):
    """The cases' COPY takes each partition as it comes: a bad row in the last one still
    refuses the whole file, in Chinese, and nothing of the earlier partitions is stored."""
    w.build(use_database)
    monkeypatch.setattr(imports, "PART", 7)
    rows = [(f"G{i}", 118.805, 32.0025, "dispute", f"第{i}件", "") for i in range(40)]
    rows.append(("G40", 118.805, 32.0025, "dispute", "时间错", "下周二"))
    path = _cases_csv(tmp_path / "late.csv", rows)
    args = ["cases", "import", str(path)] + (["--scheduler", scheduler] if on_dask else [])
    done = runner.invoke(app, args)
    assert done.exit_code == 1
    where = "文件第 42 行，第 41 条 (line 42, row 41, G40)"
    assert f"{where}: 上报时间 '下周二' 不是日期和时间" in done.output
    assert "1 行有误，未导入任何数据 (1 of 41 rows are bad" in done.output
    with transaction(use_database) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM case_events")).scalar() == 0
    assert (done := runner.invoke(app, [*args, "--skip-invalid"])).exit_code == 0, done.output
    with transaction(use_database) as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 40
        assert s.execute(text("SELECT count(*) FROM case_events")).scalar() == 80
