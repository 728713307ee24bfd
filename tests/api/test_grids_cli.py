"""`wangge grids generate` in file mode, exactly as the contract says."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from data.synthetic import generate_city, write_city

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_city(generate_city(size="community", seed=3), tmp_path_factory.mktemp("city"))


def generate(files, tmp_path, *extra):
    out, report = tmp_path / "grids.geojson", tmp_path / "report.json"
    args = ["grids", "generate", "--buildings", files["buildings"], "--boundary"]
    args += [files.get("boundary", files["communities"]), "--out", out, "--report", report, *extra]
    result = runner.invoke(app, [str(a) for a in args])
    return result, out, report


def test_both_levels_meet_the_contract(files, tmp_path):
    result, out, report = generate(files, tmp_path, "--roads", files["roads"], "--level", "both")
    assert result.exit_code == 0, result.output
    layer = json.loads(out.read_text(encoding="utf-8"))
    assert layer["type"] == "FeatureCollection"
    grids = [f for f in layer["features"] if f["properties"]["level"] == "grid"]
    micro = [f for f in layer["features"] if f["properties"]["level"] == "micro"]
    assert grids and micro
    for feature in layer["features"]:
        props = feature["properties"]
        assert feature["geometry"]["type"] == "Polygon"
        assert {"code", "level", "parent_code", "households", "members"} <= set(props)
        assert isinstance(props["code"], str) and isinstance(props["households"], int)
        assert sum(share for _, share in props["members"]) == props["households"]
        assert all(isinstance(b, str) and isinstance(h, int) for b, h in props["members"])
    assert all(g["properties"]["parent_code"] is None for g in grids)
    codes = {g["properties"]["code"] for g in grids}
    assert all(m["properties"]["parent_code"] in codes for m in micro)
    households = json.loads(files["buildings"].read_text(encoding="utf-8"))
    total = sum(f["properties"]["households"] for f in households["features"])
    assert sum(g["properties"]["households"] for g in grids) == total
    assert sum(m["properties"]["households"] for m in micro) == total
    rep = json.loads(report.read_text(encoding="utf-8"))
    for level in ("grid", "micro"):
        assert rep[level]["count"] == len(grids if level == "grid" else micro)
        # only micro-grids holding a tower's part too short to cut thinner are above 50
        over = rep[level]["infeasible"]
        assert rep[level]["within_bounds"] == rep[level]["count"] - len(over)
        assert all("too short for strips" in item["reason"] for item in over)
    assert rep["grid"]["infeasible"] == []
    assert "grid: " in result.output and "micro: " in result.output


def test_custom_bounds_and_infeasible_parts_still_exit_zero(files, tmp_path):
    result, out, report = generate(files, tmp_path, "--min", "3000", "--max", "4000")
    assert result.exit_code == 0, result.output
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["grid"]["bounds"] == [3000, 4000]
    assert rep["grid"]["count"] == 1
    [item] = rep["grid"]["infeasible"]
    assert "fewer than the minimum 3000" in item["reason"]


def test_micro_level_alone(files, tmp_path):
    result, out, report = generate(files, tmp_path, "--level", "micro")
    assert result.exit_code == 0, result.output
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert {f["properties"]["level"] for f in features} == {"micro"}
    over = {
        i["code"] for i in json.loads(report.read_text(encoding="utf-8"))["micro"]["infeasible"]
    }
    assert all(
        30 <= f["properties"]["households"] <= 50 or f["properties"]["code"] in over
        for f in features
    )


def test_missing_households_are_estimated_and_reported(files, tmp_path):
    data = json.loads(files["buildings"].read_text(encoding="utf-8"))
    for feature in data["features"][:10]:
        feature["properties"]["households"] = None
    path = tmp_path / "partial.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result, _, report = generate({**files, "buildings": path}, tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text(encoding="utf-8"))["households_estimated_buildings"] == 10


def test_bad_input_exits_nonzero_with_a_reason(files, tmp_path):
    data = json.loads(files["buildings"].read_text(encoding="utf-8"))
    data["features"][1]["properties"]["building_id"] = data["features"][0]["properties"][
        "building_id"
    ]
    data["features"][2]["properties"]["households"] = -4
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    result, out, _ = generate({**files, "buildings": path}, tmp_path)
    assert result.exit_code != 0
    assert "duplicate" in result.output and "row 3" in result.output
    assert not out.exists()
    result, _, _ = generate({**files, "boundary": files["stations"]}, tmp_path)
    assert result.exit_code != 0 and "polygons" in result.output
    result, _, _ = generate(files, tmp_path, "--level", "block")
    assert result.exit_code != 0
