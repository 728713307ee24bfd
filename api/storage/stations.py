"""Queries for stations, their stored walking circles, and the frames coverage needs.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from sqlalchemy import JSON, Text, any_, bindparam, delete, func, insert, literal, select, text
from sqlalchemy.orm import Session

from api.storage import models

STATION_COLUMNS = (
    "station_id", "name", "type", "functions", "stars", "opening_hours", "services", "phone",
    "address", "community_code", "community_name", "location_source",
)  # fmt: skip


def _station_query(*, station_type: str | None = None, function: str | None = None):
    s, c = models.Station, models.Community
    query = (
        select(
            s.id,
            s.station_id,
            s.name,
            s.type,
            s.functions,
            s.stars,
            s.opening_hours,
            s.services,
            s.phone,
            s.address,
            c.code.label("community_code"),
            c.name.label("community_name"),
            s.location_source,
            func.ST_X(s.geom).label("lon"),
            func.ST_Y(s.geom).label("lat"),
        )
        .outerjoin(c, c.id == s.community_id)
        .order_by(s.station_id)
    )
    if station_type is not None:
        query = query.where(s.type == station_type)
    if function is not None:
        query = query.where(literal(function) == any_(s.functions))
    return query


def station_rows(
    session: Session, *, station_type: str | None = None, function: str | None = None
) -> list[dict]:
    """Stations (public fields only, lon/lat in WGS-84), filtered by type and function."""
    query = _station_query(station_type=station_type, function=function)
    return [dict(r._mapping) for r in session.execute(query)]


def station_row(session: Session, station_id: str) -> dict | None:
    query = _station_query().where(models.Station.station_id == station_id)
    row = session.execute(query).first()
    return None if row is None else dict(row._mapping)


def station_frame(session: Session) -> gpd.GeoDataFrame:
    """Every station as a point frame (EPSG:4326), in station_id order."""
    rows = station_rows(session)
    geometry = [shapely.Point(r["lon"], r["lat"]) for r in rows]
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=4326) if rows else _empty_stations()


def _empty_stations() -> gpd.GeoDataFrame:
    columns = ["id", *STATION_COLUMNS, "lon", "lat"]
    return gpd.GeoDataFrame({k: [] for k in columns}, geometry=[], crs=4326)


def road_frame(session: Session) -> gpd.GeoDataFrame:
    """Every road line with its class, EPSG:4326, for building the walking network."""
    r = models.Road
    rows = session.execute(select(r.road_id, r.class_, func.ST_AsBinary(r.geom))).all()
    return gpd.GeoDataFrame(
        {"road_id": [x[0] for x in rows], "class": [x[1] for x in rows]},
        geometry=shapely.from_wkb([bytes(x[2]) for x in rows]) if rows else [],
        crs=4326,
    )


def roads_version(session: Session) -> tuple[int, int, int]:
    """Changes when roads are added, removed or edited: count, largest id, newest row version
    (xmin, the transaction that last wrote a row)."""
    row = session.execute(
        text(
            "SELECT count(*), coalesce(max(id), 0), coalesce(max(xmin::text::bigint), 0) FROM roads"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


ANALYSIS_TABLES = ("roads", "stations", "buildings", "grids", "communities", "streets")


def analysis_version(session: Session) -> tuple[int, ...]:
    """Changes when any table a coverage analysis reads changes: per table its row count,
    largest id and newest row version (xmin), as roads_version."""
    parts = ", ".join(
        f"(SELECT ARRAY[count(*), coalesce(max(id), 0), coalesce(max(xmin::text::bigint), 0)] "
        f"FROM {table})"
        for table in ANALYSIS_TABLES
    )
    rows = session.execute(text(f"SELECT {parts}")).one()
    return tuple(int(v) for row in rows for v in row)


def building_frame(
    session: Session, *, community: str | None = None, street: str | None = None
) -> gpd.GeoDataFrame:
    """Buildings (location points, EPSG:4326) with households and their grid, community and
    street codes; limited to a community or street office when given."""
    sql = """
        SELECT b.building_id, b.households, ST_AsBinary(b.location) AS wkb,
               c.code AS community_code, s.code AS street_code,
               (SELECT g.code FROM grids g WHERE g.level = 'grid' AND g.valid_to IS NULL
                  AND ST_Intersects(g.geom, b.location) ORDER BY g.code LIMIT 1) AS grid_code
        FROM buildings b
        LEFT JOIN communities c ON c.id = b.community_id
        LEFT JOIN streets s ON s.id = c.street_id
        WHERE (CAST(:community AS text) IS NULL OR c.code = :community)
          AND (CAST(:street AS text) IS NULL OR s.code = :street)
        ORDER BY b.building_id
    """
    rows = session.execute(text(sql), {"community": community, "street": street}).all()
    columns = ["building_id", "households", "community_code", "street_code", "grid_code"]
    data = {k: [getattr(r, k) for r in rows] for k in columns}
    geometry = shapely.from_wkb([bytes(r.wkb) for r in rows]) if rows else []
    return gpd.GeoDataFrame(data, geometry=geometry, crs=4326)


def area_exists(session: Session, *, community: str | None, street: str | None) -> bool:
    if community is not None:
        found = session.scalar(
            select(models.Community.id).where(models.Community.code == community)
        )
        if found is None:
            return False
    if street is not None:
        found = session.scalar(select(models.Street.id).where(models.Street.code == street))
        if found is None:
            return False
    return True


def stored_isochrone(
    session: Session, station_pk: int, *, minutes: float, speed_kmh: float, ident: str
) -> str | None:
    """A stored circle of one station as a GeoJSON Feature text built in PostGIS, or None."""
    i, s = models.Isochrone, models.Station
    feature = func.json_build_object(
        "type",
        "Feature",
        "id",
        ident,
        "geometry",
        func.cast(func.ST_AsGeoJSON(i.geom, 6), JSON),
        "properties",
        func.json_build_object(
            "station_id",
            s.station_id,
            "minutes",
            i.minutes,
            "speed_kmh",
            i.speed_kmh,
            "method",
            i.method,
            "source",
            "stored",
            "computed_at",
            i.computed_at,
        ),
    )
    return session.scalar(
        select(func.cast(feature, Text))
        .select_from(i)
        .join(s, s.id == i.station_id)
        .where(i.station_id == station_pk, i.minutes == minutes, i.speed_kmh == speed_kmh)
        .limit(1)
    )


def _polygonal(geom) -> shapely.MultiPolygon:
    """A valid MultiPolygon: invalid rings repaired, stray lines and points dropped."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [q for p in parts for q in shapely.get_parts(p)]
    return shapely.MultiPolygon(polygons)


def replace_isochrones(session: Session, frame: gpd.GeoDataFrame, *, speed_kmh: float) -> int:
    """Delete every stored circle and insert `frame` (columns station_pk, minutes, method).

    Geometry is repaired on the way in (shapely, then ST_MakeValid in PostGIS, whose validity
    rules can differ in edge cases), so a circle is never refused by the validity CHECK.
    """
    session.execute(delete(models.Isochrone))
    stmt = insert(models.Isochrone).values(
        geom=func.ST_Multi(
            func.ST_CollectionExtract(
                func.ST_MakeValid(func.ST_GeomFromWKB(bindparam("wkb"), models.SRID)), 3
            )
        )
    )
    rows = [
        {
            "station_id": int(pk),
            "minutes": float(m),
            "speed_kmh": float(speed_kmh),
            "method": str(method),
            "wkb": shapely.to_wkb(_polygonal(g)),
        }
        for pk, m, method, g in zip(
            frame["station_pk"], frame["minutes"], frame["method"], frame.geometry, strict=True
        )
    ]
    for start in range(0, len(rows), 500):
        session.execute(stmt, rows[start : start + 500])
    return len(rows)


def isochrone_counts(session: Session) -> dict[float, int]:
    i = models.Isochrone
    return dict(session.execute(select(i.minutes, func.count()).group_by(i.minutes)).all())
