"""`wangge geocode`, exactly as the contract says."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()
P = "江苏省示范市滨江区"
KEYS = {"text", "lon", "lat", "level", "score", "matched_id", "matched_address"}
LEVELS = {
    "roomno", "cellno", "houseno", "poi", "roadno", "road", "community", "town", "district",
    "city", "none",
}  # fmt: skip


@pytest.fixture
def places(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            "id": ["B1", "B2", "C1"],
            "address": [P + "柳荫路79号荷塘花园1栋", P + "柳荫路79号荷塘花园2栋", P + "柳荫路79号"],
            "name": [None, None, "荷塘花园"],
        },
        geometry=[box(118.80, 32.0, 118.801, 32.001), Point(118.802, 32.0), Point(118.801, 32.0)],
        crs=4326,
    )
    path = tmp_path / "places.geojson"
    frame.to_file(path, driver="GeoJSON")
    return path


def run(places, tmp_path, lines, *extra):
    src, out = tmp_path / "addresses.txt", tmp_path / "results.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["geocode", "--index", str(places), "--in", str(src), "--out", str(out), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_round_trip(places, tmp_path):
    lines = ["荷塘花园1栋旁边", "", "金凤凰小区5栋", "荷塘花园9栋", "荷塘花園２棟"]
    records = run(places, tmp_path, lines)
    assert [r["text"] for r in records] == lines
    for r in records:
        assert set(r) == KEYS and r["level"] in LEVELS and 0 <= r["score"] <= 1
        if r["level"] == "none":
            assert r["lon"] is None and r["lat"] is None and r["matched_id"] is None
        else:
            assert isinstance(r["lon"], float) and isinstance(r["matched_id"], str)
    assert [r["level"] for r in records] == ["houseno", "none", "none", "poi", "houseno"]
    assert records[0]["matched_id"] == "B1" and records[4]["matched_id"] == "B2"
    assert records[3]["matched_id"] == "C1"
    assert records[0]["matched_address"] == P + "柳荫路79号荷塘花园1栋"


def test_crs_out(places, tmp_path):
    wgs = run(places, tmp_path, ["荷塘花园2栋"])[0]
    gcj = run(places, tmp_path, ["荷塘花园2栋"], "--crs-out", "gcj02")[0]
    bd = run(places, tmp_path, ["荷塘花园2栋"], "--crs-out", "bd09")[0]
    assert wgs["lon"] == pytest.approx(118.802)
    assert 0.001 < abs(gcj["lon"] - wgs["lon"]) < 0.01
    assert abs(bd["lon"] - gcj["lon"]) > 0.003


def test_missing_properties_are_a_clear_error(tmp_path):
    path = tmp_path / "bad.geojson"
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(118.8, 32.0)], crs=4326).to_file(path)
    src = tmp_path / "a.txt"
    src.write_text("荷塘花园1栋\n", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    args = ["geocode", "--index", str(path), "--in", str(src), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "address" in result.output


@pytest.mark.parametrize("case", ["no-index", "broken-index", "no-input", "not-utf8", "bad-crs"])
def test_bad_input(places, tmp_path, case):
    src, out = tmp_path / "a.txt", tmp_path / "o.jsonl"
    src.write_text("荷塘花园1栋\n", encoding="utf-8")
    index, extra = places, []
    if case == "no-index":
        index = tmp_path / "missing.geojson"
    elif case == "broken-index":
        index = tmp_path / "broken.geojson"
        index.write_text("{not json", encoding="utf-8")
    elif case == "no-input":
        src = tmp_path / "missing.txt"
    elif case == "not-utf8":
        src.write_bytes("荷塘花园".encode("gbk"))
    else:
        extra = ["--crs-out", "mercator"]
    args = ["geocode", "--index", str(index), "--in", str(src), "--out", str(out), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    expected = {
        "no-index": "not found",
        "broken-index": "cannot read",
        "no-input": "not found",
        "not-utf8": "UTF-8",
        "bad-crs": "mercator",
    }[case]
    assert expected in result.output
