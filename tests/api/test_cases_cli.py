"""`wangge cases import`: CSV and GeoJSON, refusal of bad files, --skip-invalid, same routing."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from api.db import transaction
from tests.api import cases_world as w

runner = CliRunner()

GOOD = [
    ("K1", 118.805, 32.0025, "dispute.neighbour", "楼上漏水"),
    ("K2", 118.81, 32.005, "environment.garbage", "垃圾"),  # on the edge A|B
    ("K3", 118.805, 32.0 - 30 / 111_000, "dispute", "南侧30米"),  # nearest grid
    ("K4", 118.835, 32.015, "dispute", "街道分拨"),  # the street's queue
    ("K5", 118.805, 32.005, "work_safety.gas", "燃气味"),  # to the department
]


def _csv(path, rows):
    lines = ["case_id,lon,lat,category,description"]
    lines += [f"{i},{x},{y},{c},{d}" for i, x, y, c, d in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _count(url, sql="SELECT count(*) FROM cases"):
    with transaction(url) as s:
        return s.execute(text(sql)).scalar()


def test_import_csv_routes_like_intake(use_database, tmp_path):
    w.build(use_database)
    result = runner.invoke(app, ["cases", "import", str(_csv(tmp_path / "c.csv", GOOD))])
    assert result.exit_code == 0, result.output
    with transaction(use_database) as s:
        got = {
            r.external_id: r
            for r in s.execute(
                text(
                    "SELECT c.external_id, c.grid_code, c.micro_grid_code, c.status, c.routing, "
                    "c.queue, w.worker_id FROM cases c LEFT JOIN workers w ON w.id = c.assignee_id"
                )
            )
        }
        events = s.execute(text("SELECT count(*) FROM case_events")).scalar()
    assert (got["K1"].grid_code, got["K1"].micro_grid_code, got["K1"].worker_id) == (
        w.A, w.A1, "FA",
    )  # fmt: skip
    assert got["K2"].grid_code == w.A and got["K2"].worker_id == "PA"  # FA already has one
    assert got["K3"].routing == "nearest" and got["K4"].queue == "street"
    assert got["K5"].status == "transferred"
    assert events == 5 + 4  # a create event each, a dispatch event for the four not queued


def test_bad_rows_refuse_the_file(use_database, tmp_path):
    w.build(use_database)
    rows = GOOD + [
        ("K6", 200, 32, "dispute", "x"),
        ("K7", 118.805, 32.005, "nope", "x"),
        ("K1", 118.805, 32.005, "dispute", "repeat"),
        ("K9", 118.805, 32.005, "dispute", ""),
        ("K10", 100.0, 30.0, "dispute", "far away"),
    ]
    path = _csv(tmp_path / "bad.csv", rows)
    result = runner.invoke(app, ["cases", "import", str(path)])
    assert result.exit_code == 1
    for needle in ("文件第 7 行，第 6 条 (line 7, row 6, K6)", "out of range",
                   "unknown category 'nope'", "repeats an earlier", "description is empty",
                   "outside every grid"):  # fmt: skip
        assert needle in result.output
    assert _count(use_database) == 0
    result = runner.invoke(app, ["cases", "import", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert _count(use_database) == 5
    again = runner.invoke(app, ["cases", "import", str(_csv(tmp_path / "k1.csv", GOOD[:1]))])
    assert again.exit_code == 1 and "already stored" in again.output


def test_import_geojson(use_database, tmp_path):
    w.build(use_database)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [x, y]},
            "properties": {"case_id": i, "category": c, "description": d},
        }
        for i, x, y, c, d in GOOD
    ]
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    props = {"case_id": "L", "category": "dispute", "description": "line"}
    features.append({"type": "Feature", "geometry": line, "properties": props})
    path = tmp_path / "c.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = runner.invoke(app, ["cases", "import", str(path)])
    assert result.exit_code == 1 and "not a Point" in result.output
    result = runner.invoke(app, ["cases", "import", str(path), "--skip-invalid"])
    assert result.exit_code == 0 and _count(use_database) == 5


def test_awkward_text_is_stored_as_written(use_database, tmp_path):
    """Tabs, newlines, backslashes, quotes and a line of backslash-dot reach the database as
    they were in the file (the COPY text escapes them); control characters are refused."""
    import csv

    w.build(use_database)
    texts = {
        "T1": ("制表\t符", "路\\号"),
        "T2": ("换行\n第二行\r\n第三行", '引号"和,逗号'),
        "T3": ("\\.", "\\N"),
        "T4": ("反斜杠结尾\\", ""),
    }
    path = tmp_path / "awkward.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["case_id", "lon", "lat", "category", "description", "address"])
        for ext, (description, address) in texts.items():
            out.writerow([ext, 118.805, 32.0025, "dispute", description, address])
    result = runner.invoke(app, ["cases", "import", str(path)])
    assert result.exit_code == 0, result.output
    with transaction(use_database) as s:
        got = {
            r.external_id: (r.description, r.address)
            for r in s.execute(text("SELECT external_id, description, address FROM cases"))
        }
    assert got == {k: (d, a or None) for k, (d, a) in texts.items()}
    path.write_text(
        "case_id,lon,lat,category,description\nC1,118.805,32.0025,dispute,铃\x07声\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["cases", "import", str(path)])
    assert result.exit_code == 1 and "描述含控制字符 (description contains control" in result.output
