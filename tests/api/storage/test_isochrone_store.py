"""Stored circles: replaced as a whole, repaired on the way in, CHECKs of the table."""

from __future__ import annotations

import geopandas as gpd
import psycopg
import pytest
import shapely
from sqlalchemy import text

from api.storage import stations as store

BOWTIE = shapely.Polygon([(118.80, 32.00), (118.81, 32.01), (118.81, 32.00), (118.80, 32.01)])
SQUARE = shapely.box(118.80, 32.00, 118.81, 32.01)


def _station(session) -> int:
    return session.execute(
        text(
            "INSERT INTO stations (station_id, name, geom) "
            "VALUES ('s1', 'x', 'SRID=4326;POINT(118.805 32.005)') RETURNING id"
        )
    ).scalar_one()


def test_replace_repairs_and_replaces(session):
    pk = _station(session)
    frame = gpd.GeoDataFrame(
        {"station_pk": [pk, pk], "minutes": [5, 10], "method": ["network", "buffer"]},
        geometry=[BOWTIE, SQUARE],
        crs=4326,
    )
    assert not BOWTIE.is_valid
    assert store.replace_isochrones(session, frame, speed_kmh=4.5) == 2
    rows = session.execute(
        text("SELECT minutes, ST_IsValid(geom), GeometryType(geom) FROM isochrones ORDER BY 1")
    ).all()
    assert [tuple(r) for r in rows] == [(5.0, True, "MULTIPOLYGON"), (10.0, True, "MULTIPOLYGON")]
    store.replace_isochrones(session, frame.iloc[[1]], speed_kmh=4.5)
    assert session.execute(text("SELECT count(*) FROM isochrones")).scalar_one() == 1
    feature = store.stored_isochrone(session, pk, minutes=10, speed_kmh=4.5, ident="s1.10")
    assert '"source" : "stored"' in feature or '"source":"stored"' in feature
    assert store.stored_isochrone(session, pk, minutes=15, speed_kmh=4.5, ident="x") is None


def test_isochrone_checks(db_url):
    url = db_url.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as conn:
        pk = conn.execute(
            "INSERT INTO stations (station_id, name, geom) "
            "VALUES ('s1', 'x', 'SRID=4326;POINT(118.805 32.005)') RETURNING id"
        ).fetchone()[0]
        insert = (
            "INSERT INTO isochrones (station_id, minutes, speed_kmh, method, geom) "
            "VALUES (%s, %s, 4.5, %s, ST_Multi(ST_MakeEnvelope(118.8, 32, 118.81, 32.01, 4326)))"
        )
        conn.execute(insert, (pk, 5, "network"))
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute(insert, (pk, 5, "network"))
        with pytest.raises(psycopg.errors.CheckViolation, match="method_known"):
            conn.execute(insert, (pk, 10, "hull"))
        with pytest.raises(psycopg.errors.CheckViolation, match="minutes_positive"):
            conn.execute(insert, (pk, 0, "network"))
        with pytest.raises(psycopg.errors.CheckViolation, match="stars_range"):
            conn.execute("UPDATE stations SET stars = 2")
        conn.execute("DELETE FROM stations")
        assert conn.execute("SELECT count(*) FROM isochrones").fetchone()[0] == 0  # cascade
