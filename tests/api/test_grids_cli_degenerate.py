"""`wangge grids generate` in file mode on awkward footprints: a layer or a clear message, never
a traceback (issue 15)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli import app
from tests.geo.test_grids_degenerate import AREA, degenerate_buildings, frame, rect

runner = CliRunner()


def run(tmp_path, buildings, *extra):
    b, c = tmp_path / "b.geojson", tmp_path / "c.geojson"
    out, report = tmp_path / "out.geojson", tmp_path / "report.json"
    buildings.to_file(b, driver="GeoJSON")
    AREA.to_file(c, driver="GeoJSON")
    args = ["grids", "generate", "--buildings", b, "--boundary", c, "--out", out]
    result = runner.invoke(app, [str(a) for a in [*args, "--report", report, *extra]])
    return result, out, report


def test_stacked_parts_are_merged_and_reported(tmp_path):
    tower = rect(40, 40, 30, 20)
    buildings = frame(
        [tower, rect(45, 45, 10, 10), tower, rect(5, 5, 12, 0.004), rect(90, 10, 15, 10)],
        [180, 60, 150, 20, 40],
    )
    result, out, report = run(tmp_path, buildings, "--level", "both")
    assert result.exit_code == 0, result.output
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["buildings_merged"] == 2 and set(rep["merged"]) == {"b1", "b2"}
    layer = json.loads(out.read_text(encoding="utf-8"))
    members = {m[0] for f in layer["features"] for m in f["properties"]["members"]}
    assert "b0" in members and not members & {"b1", "b2"}
    grids = [f for f in layer["features"] if f["properties"]["level"] == "grid"]
    assert sum(f["properties"]["households"] for f in grids) == 180 + 20 + 40


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(degenerate_buildings(), st.sampled_from(["grid", "both"]))
def test_file_mode_never_prints_a_traceback(tmp_path, buildings, level):
    buildings = buildings[~buildings.geometry.is_empty]
    result, out, _ = run(tmp_path, buildings, "--level", level, "--min", "100", "--max", "200")
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if result.exit_code == 0:
        assert json.loads(out.read_text(encoding="utf-8"))["features"]
    else:
        assert "building" in result.output or "楼栋" in result.output, result.output
