"""`wangge ingest stations`: catalog checks, per-row errors, addresses geocoded, CRS per row."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point
from typer.testing import CliRunner

from api.addresses import geocode as geocode_db
from api.cli import app
from api.db import transaction
from api.demo import datasets as demo
from api.stations.importing import prepare_stations
from geo.coords import from_wgs84
from tests.api.test_grids_db import rows

runner = CliRunner()


def frame(**columns) -> gpd.GeoDataFrame:
    n = len(columns["station_id"])
    geometry = columns.pop("geometry", [Point(118.8, 32.0)] * n)
    return gpd.GeoDataFrame(columns, geometry=geometry, crs=4326)


def test_prepare_checks_each_row():
    stations = frame(
        station_id=["a", "b", "c", "d", "e", "f", "g"],
        type=["邻里中心", "托育点", "火星站", None, "社区食堂", None, "托育点"],
        stars=[5, 2, None, None, "4.5", None, None],
        opening_hours=[None, None, None, "随时", None, "8:00-20:00", None],
        functions=[None, None, None, "幼有所育；飞行", None, "health;food", None],
        phone=[None, None, None, None, None, None, "call me"],
    )
    good, problems = prepare_stations(stations)
    assert good["station_id"].tolist() == ["a", "f"]
    by_id = {p.id: p.reason for p in problems}
    assert "whole number from 3 to 5 (got 2)" in by_id["b"]
    assert "unknown station type '火星站'" in by_id["c"]
    assert "unknown function(s) 飞行" in by_id["d"]
    assert "got 4.5" in by_id["e"]
    assert "not a telephone number" in by_id["g"]
    a = good.iloc[0]
    assert a["opening_hours"] == "Mo-Su 08:00-21:00"  # the type's default
    assert a["functions"][:6] == [
        "childcare", "elderly_care", "health", "food", "leisure", "services",
    ]  # fmt: skip
    assert good.iloc[1]["functions"] == ["health", "food"]
    assert good["location_source"].tolist() == ["given", "given"]


def test_prepare_converts_gcj02_rows():
    lon, lat = from_wgs84(118.8, 32.0, crs="gcj02")
    stations = frame(
        station_id=["a", "b"],
        type=["托育点", "托育点"],
        crs=["gcj02", "mars"],
        geometry=[Point(float(lon), float(lat))] * 2,
    )
    good, problems = prepare_stations(stations)
    assert good.geometry.iloc[0].x == pytest.approx(118.8, abs=1e-6)
    assert good.geometry.iloc[0].y == pytest.approx(32.0, abs=1e-6)
    assert "unknown crs 'mars'" in problems[0].reason


def test_prepare_without_geocoder_refuses_rows_without_points():
    stations = frame(station_id=["a"], type=["托育点"], address=["长江路1号"], geometry=[None])
    good, problems = prepare_stations(stations)
    assert good.empty and "no address base" in problems[0].reason


@pytest.fixture
def city(use_database):
    with transaction(use_database) as session:
        demo.load_synthetic(session, size="community", log=lambda _: None)
    yield use_database
    geocode_db.invalidate(use_database)


def test_ingest_csv_geocodes_addresses(city, tmp_path):
    (address, x, y), *_ = rows(
        city,
        "SELECT address, ST_X(location), ST_Y(location) FROM buildings b "
        "WHERE address IS NOT NULL AND households > 0 "
        "AND (SELECT count(*) FROM buildings o WHERE o.address = b.address) = 1 "
        "ORDER BY building_id LIMIT 1",
    )
    before = rows(city, "SELECT count(*) FROM stations")[0][0]
    path = tmp_path / "stations.csv"
    path.write_text(
        "station_id,name,type,stars,opening_hours,address,phone\n"
        f"N1,新托育点,托育点,4,,{address},025-88886666\n"
        "N2,远处食堂,社区食堂,3,,江苏省示范市滨江区,\n"
        f"N3,坏星级,托育点,9,,{address},\n"
        "N4,无地址,托育点,5,,,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["ingest", "stations", str(path)])
    assert result.exit_code == 1
    assert "could not be placed: matched only at level district" in result.output
    assert "row 3 (N3)" in result.output and "row 4 (N4)" in result.output
    assert rows(city, "SELECT count(*) FROM stations")[0][0] == before  # nothing written

    result = runner.invoke(app, ["ingest", "stations", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    stored = rows(
        city,
        "SELECT station_id, location_source, phone, opening_hours, stars, "
        "ST_Distance(geom::geography, ST_SetSRID(ST_Point(:x, :y), 4326)::geography), "
        "community_id IS NOT NULL FROM stations WHERE station_id LIKE 'N%'",
        x=x,
        y=y,
    )
    assert len(stored) == 1
    sid, source, phone, hours, stars, distance, linked = stored[0]
    assert (sid, source, phone, stars) == ("N1", "geocoded", "025-88886666", 4)
    assert hours == "Mo-Fr 07:30-18:00"
    assert distance < 30 and linked
