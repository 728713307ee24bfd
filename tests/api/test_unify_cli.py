"""`wangge grids unify` (多格合一) in file mode: no database needed."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.io import write_geojson
from tests.geo.test_unify import CODE, UTM, two_departments

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = two_departments()
    folder = tmp_path_factory.mktemp("unify")
    paths = {}
    for name, frame in (
        ("boundary", d.boundary),
        ("buildings", d.buildings),
        ("zongzhi", d.zongzhi),
        ("chengguan", d.chengguan),
    ):
        paths[name] = write_geojson(frame, folder / f"{name}.geojson")
    return paths


def unify(files, tmp_path, *extra):
    out = tmp_path / "unified.geojson"
    report, findings = tmp_path / "report.json", tmp_path / "findings.geojson"
    args = ["grids", "unify", "--layer", f"综治={files['zongzhi']}"]
    args += ["--layer", f"城管={files['chengguan']}", "--buildings", files["buildings"]]
    args += ["--boundary", files["boundary"], "--out", out, "--report", report]
    args += ["--findings", findings, *extra]
    result = runner.invoke(app, [str(a) for a in args])
    return result, out, report, findings


def test_unify_writes_layer_report_and_findings(files, tmp_path):
    result, out, report, findings = unify(files, tmp_path)
    assert result.exit_code == 0, result.output
    layer = json.loads(out.read_text(encoding="utf-8"))
    features = layer["features"]
    assert len(features) == 3
    for feature in features:
        props = feature["properties"]
        assert feature["geometry"]["type"] == "Polygon"
        assert props["code"].startswith(CODE) and len(props["code"]) == 15
        assert props["level"] == "grid" and props["parent_code"] is None
        assert props["households"] == 400 and props["within_bounds"] is True
        assert sum(h for _, h in props["members"]) == props["households"]
        assert props["origin"] == "kept" and props["source_layer"] == "综治"
    assert sorted(f["properties"]["source_code"] for f in features) == ["A1", "A2", "A3"]

    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["kept"] == 3 and rep["new"] == 0
    assert rep["layers"]["综治"]["kept"] == 3 and rep["layers"]["城管"]["id_column"] == "name"
    assert rep["comparison"]["kinds"] == {
        "overlap": 1, "gap": 1, "conflict": 3, "outside_boundary": 1,
    }  # fmt: skip
    assert set(rep["sources"]) == {"综治", "城管"}

    found = gpd.read_file(findings)
    assert sorted(found["kind"]) == sorted(
        ["overlap", "gap", "conflict", "conflict", "conflict", "outside_boundary"]
    )
    gap = found[found["kind"] == "gap"].iloc[0]
    assert gap["layer"] == "城管" and gap["households"] == 200
    assert gap.geometry.area > 0 and found.crs.to_epsg() == 4326

    assert "comparison of the layers" in result.output
    assert "3 grids: 3 kept, 0 new" in result.output
    assert "wrote" in result.output


def test_unify_follows_the_priority(files, tmp_path):
    result, out, report, _ = unify(files, tmp_path, "--priority", "城管,综治")
    assert result.exit_code == 0, result.output
    rep = json.loads(report.read_text(encoding="utf-8"))
    assert rep["orders"] == [{"area_code": CODE, "order": "priority"}]
    grids = gpd.read_file(out).to_crs(UTM)
    area = gpd.read_file(files["boundary"]).to_crs(UTM).area.sum()
    assert abs(grids.union_all().area - area) <= 1e-6 * area
    assert grids["within_bounds"].all()


def test_unify_level_both_and_bounds(files, tmp_path):
    result, out, _, _ = unify(files, tmp_path, "--level", "both", "--micro-min", "40")
    assert result.exit_code == 0, result.output
    layer = gpd.read_file(out)
    micro = layer[layer["level"] == "micro"]
    assert len(micro) == 24 and (micro["households"] == 50).all()
    assert set(micro["parent_code"]) == set(layer.loc[layer["level"] == "grid", "code"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--priority", "公安"], "--priority names unknown layer(s) ['公安']"),
        (["--layer", "nofile"], "--layer expects NAME=PATH"),
        (["--layer", "综治=x.geojson"], "--layer '综治' is given twice"),
        (["--min", "500", "--max", "300"], "grid bounds must satisfy"),
    ],
)
def test_unify_refuses_bad_options(files, tmp_path, extra, message):
    result, out, _, _ = unify(files, tmp_path, *extra)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_unify_reports_a_missing_layer_file(files, tmp_path):
    args = ["grids", "unify", "--layer", f"公安={tmp_path / 'missing.geojson'}"]
    args += ["--buildings", files["buildings"], "--boundary", files["boundary"]]
    args += ["--out", tmp_path / "o.geojson"]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1
    assert "layer '公安': no such file" in " ".join(result.output.split())
