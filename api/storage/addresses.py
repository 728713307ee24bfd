"""The standard address base read from the database, and the spatial look-ups of reverse geocoding.

Queries never commit. Ids of places are ``<kind>:<source id>``: ``building:B000123``,
``compound:C0001``, ``station:S0001``, ``road:R0001``, ``poi:n123456``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import Float, Integer, case, cast, func, literal, literal_column, select
from sqlalchemy.orm import Session

from api.storage import models

__all__ = [
    "ADDRESS_TABLES",
    "Containing",
    "NearestBuilding",
    "NearestPlace",
    "address_base_version",
    "containing",
    "load_address_base",
    "nearest_building",
    "nearest_place",
]

#: Tables whose rows form the address base (their counts and largest ids fingerprint it).
ADDRESS_TABLES = (
    models.Building,
    models.Compound,
    models.Road,
    models.Station,
    models.Poi,
    models.District,
)

COLUMNS = ["id", "address", "name", "from_no", "to_no", "geometry"]


def address_base_version(session: Session) -> tuple[int, ...]:
    """A cheap fingerprint of the address base: row count and largest id of each source table,
    and the change counter that statement triggers bump on every insert, delete and update of
    an address column (migration 0005), so an address edited in place changes it too."""
    # is_called: the first nextval leaves last_value at 1
    parts = [literal_column("(SELECT last_value + is_called::int FROM address_base_changes)")]
    for model in ADDRESS_TABLES:
        parts.append(select(func.count()).select_from(model).scalar_subquery())
        parts.append(select(func.coalesce(func.max(model.id), 0)).scalar_subquery())
    return tuple(session.execute(select(*parts)).one())


def _rows(session: Session, stmt) -> list[dict]:
    out = []
    for row in session.execute(stmt).mappings():
        record = dict(row)
        record["geometry"] = (
            to_shape(record["geometry"]) if record["geometry"] is not None else None
        )
        out.append(record)
    return out


def load_address_base(session: Session) -> gpd.GeoDataFrame:
    """Every addressable place: buildings with an address, compounds, roads with a name, stations,
    named points of interest (shops, offices, amenities read from OpenStreetMap).

    Returns
    -------
    GeoDataFrame
        Columns ``id``, ``address``, ``name``, ``from_no``, ``to_no`` and the geometry (EPSG:4326):
        a building's footprint (else its point), a compound's polygon, a road's lines, a
        station's point. A compound or station without an address is listed under its name;
        a road's address is its name prefixed with the district it lies in, where known.
        Empty (with these columns) for an empty database.
    """
    b, c, r, s, d = (models.Building, models.Compound, models.Road, models.Station, models.District)
    none_int = cast(literal(None), Integer)
    rows = _rows(
        session,
        select(
            (literal("building:") + b.building_id).label("id"),
            b.address.label("address"),
            b.name.label("name"),
            none_int.label("from_no"),
            none_int.label("to_no"),
            func.coalesce(b.footprint, b.location).label("geometry"),
        )
        .where(func.length(func.btrim(b.address)) > 0)
        .order_by(b.id),
    )
    rows += _rows(
        session,
        select(
            (literal("compound:") + c.compound_id).label("id"),
            func.coalesce(func.nullif(func.btrim(c.address), ""), c.name).label("address"),
            c.name.label("name"),
            none_int.label("from_no"),
            none_int.label("to_no"),
            c.geom.label("geometry"),
        )
        .where(c.geom.is_not(None))
        .where(func.length(func.btrim(func.coalesce(c.address, c.name))) > 0)
        .order_by(c.id),
    )
    district = (
        select(d.name)
        .where(d.geom.is_not(None), func.ST_Intersects(d.geom, func.ST_PointOnSurface(r.geom)))
        .order_by(d.id)
        .limit(1)
        .scalar_subquery()
    )
    rows += _rows(
        session,
        select(
            (literal("road:") + r.road_id).label("id"),
            (func.coalesce(district, "") + r.name).label("address"),
            literal(None).label("name"),
            r.from_no.label("from_no"),
            r.to_no.label("to_no"),
            r.geom.label("geometry"),
        )
        .where(func.length(func.btrim(r.name)) > 0)
        .order_by(r.id),
    )
    rows += _rows(
        session,
        select(
            (literal("station:") + s.station_id).label("id"),
            func.coalesce(func.nullif(func.btrim(s.address), ""), s.name).label("address"),
            s.name.label("name"),
            none_int.label("from_no"),
            none_int.label("to_no"),
            s.geom.label("geometry"),
        ).order_by(s.id),
    )
    p = models.Poi
    rows += _rows(
        session,
        select(
            (literal("poi:") + p.poi_id).label("id"),
            func.coalesce(func.nullif(func.btrim(p.address), ""), p.name).label("address"),
            p.name.label("name"),
            none_int.label("from_no"),
            none_int.label("to_no"),
            p.geom.label("geometry"),
        )
        .where(func.length(func.btrim(p.name)) > 0)
        .order_by(p.id),
    )
    frame = gpd.GeoDataFrame(rows, columns=COLUMNS, geometry="geometry", crs=4326)
    return frame[~shapely.is_empty(frame.geometry.values) & frame.geometry.notna()]


@dataclass(frozen=True, slots=True)
class NearestBuilding:
    building_id: str
    address: str | None
    distance_m: float


@dataclass(frozen=True, slots=True)
class Containing:
    """Codes and names of the areas containing a point (None where no area contains it)."""

    micro_grid_code: str | None
    grid_code: str | None
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None


def _point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), models.SRID)


def nearest_building(
    session: Session, lon: float, lat: float, *, max_distance_m: float = 50.0
) -> NearestBuilding | None:
    """The building nearest to a WGS-84 point within `max_distance_m` (0 inside a footprint).

    Candidates come from KNN (``<->``) on the GiST indexes of footprints and, for buildings
    without one, of locations; the distance is geodesic (geography). Its address is the
    building's own, else its compound's.
    """
    b, c = models.Building, models.Compound
    pt = _point(lon, lat)
    shape = func.coalesce(b.footprint, b.location)
    distance = cast(func.ST_Distance(func.Geography(shape), func.Geography(pt)), Float).label(
        "distance_m"
    )
    address = func.coalesce(func.nullif(func.btrim(b.address), ""), c.address).label("address")
    best: NearestBuilding | None = None
    for column, present in (
        (b.footprint, b.footprint.is_not(None)),
        (b.location, b.footprint.is_(None)),
    ):
        knn = select(b.id).where(present).order_by(column.op("<->")(pt)).limit(5).scalar_subquery()
        stmt = (
            select(b.building_id, address, distance)
            .outerjoin(c, c.id == b.compound_id)
            .where(b.id.in_(knn))
            .order_by(distance, b.id)
            .limit(1)
        )
        row = session.execute(stmt).first()
        closer = row is not None and (best is None or row.distance_m < best.distance_m)
        if closer and row.distance_m <= max_distance_m:
            best = NearestBuilding(row.building_id, row.address, float(row.distance_m))
    return best


@dataclass(frozen=True, slots=True)
class NearestPlace:
    """A non-building place of the address base near a point (compound, station or road)."""

    id: str
    kind: str
    address: str
    distance_m: float
    house_number: int | None = None


def _geodesic(shape, pt):
    return cast(func.ST_Distance(func.Geography(shape), func.Geography(pt)), Float)


def nearest_place(
    session: Session,
    lon: float,
    lat: float,
    *,
    max_distance_m: float = 50.0,
    road_distance_m: float = 100.0,
) -> NearestPlace | None:
    """The place that names a WGS-84 point when no building does, finest first.

    A compound whose polygon contains the point; else the nearest station within
    `max_distance_m`; else the nearest named road within `road_distance_m`, with a house
    number interpolated along its number range (``from_no`` … ``to_no``) where it has one.
    """
    c, s, r = models.Compound, models.Station, models.Road
    pt = _point(lon, lat)
    label = func.coalesce(func.nullif(func.btrim(c.address), ""), c.name)
    row = session.execute(
        select(c.compound_id, label.label("address"))
        .where(c.geom.is_not(None), func.ST_Contains(c.geom, pt), label.is_not(None))
        .order_by(c.compound_id)
        .limit(1)
    ).first()
    if row is not None:
        return NearestPlace(f"compound:{row.compound_id}", "compound", row.address, 0.0)
    distance = _geodesic(s.geom, pt).label("distance_m")
    knn = select(s.id).order_by(s.geom.op("<->")(pt)).limit(5).scalar_subquery()
    row = session.execute(
        select(
            s.station_id,
            func.coalesce(func.nullif(func.btrim(s.address), ""), s.name).label("address"),
            distance,
        )
        .where(s.id.in_(knn))
        .order_by(distance, s.station_id)
        .limit(1)
    ).first()
    if row is not None and row.distance_m <= max_distance_m:
        return NearestPlace(f"station:{row.station_id}", "station", row.address, row.distance_m)
    distance = _geodesic(r.geom, pt).label("distance_m")
    line = func.ST_LineMerge(r.geom)
    fraction = func.ST_LineLocatePoint(line, pt)
    knn = (
        select(r.id)
        .where(func.length(func.btrim(r.name)) > 0)
        .order_by(r.geom.op("<->")(pt))
        .limit(5)
        .scalar_subquery()
    )
    # ST_LineLocatePoint needs one line: a road whose parts do not merge gets no number
    single = func.GeometryType(line) == "LINESTRING"
    row = session.execute(
        select(
            r.road_id,
            r.name,
            r.from_no,
            r.to_no,
            distance,
            case((single, fraction), else_=None).label("fraction"),
        )
        .where(r.id.in_(knn))
        .order_by(distance, r.road_id)
        .limit(1)
    ).first()
    if row is None or row.distance_m > road_distance_m:
        return None
    number = None
    if None not in (row.from_no, row.to_no, row.fraction):
        number = round(row.from_no + row.fraction * (row.to_no - row.from_no))
    address = row.name if number is None else f"{row.name}{number}号附近"
    return NearestPlace(f"road:{row.road_id}", "road", address, row.distance_m, number)


def containing(session: Session, lon: float, lat: float) -> Containing:
    """The current micro-grid and grid, the community and the street office containing a point."""
    g, cm, st = models.Grid, models.Community, models.Street
    pt = _point(lon, lat)

    def grid(level: str):
        return (
            select(g.code)
            .where(g.level == level, g.valid_to.is_(None), func.ST_Contains(g.geom, pt))
            .order_by(g.code)
            .limit(1)
            .scalar_subquery()
        )

    community = (
        select(cm.code, cm.name, st.code.label("street_code"), st.name.label("street_name"))
        .outerjoin(st, st.id == cm.street_id)
        .where(cm.geom.is_not(None), func.ST_Contains(cm.geom, pt))
        .order_by(cm.code)
        .limit(1)
    )
    micro, grid_code = session.execute(select(grid("micro"), grid("grid"))).one()
    row = session.execute(community).first()
    if row is not None and row.street_code is not None:
        street = (row.street_code, row.street_name)
    else:
        found = session.execute(
            select(st.code, st.name)
            .where(st.geom.is_not(None), func.ST_Contains(st.geom, pt))
            .order_by(st.code)
            .limit(1)
        ).first()
        street = (found.code, found.name) if found else (None, None)
    return Containing(
        micro_grid_code=micro,
        grid_code=grid_code,
        community_code=row.code if row else None,
        community_name=row.name if row else None,
        street_code=street[0],
        street_name=street[1],
    )
