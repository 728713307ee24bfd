"""Vector tiles from PostGIS: ST_AsMVT over ST_AsMVTGeom of the rows meeting ST_TileEnvelope.

Layers: grids and micro_grids (the current layer), buildings (footprints, or points), and
stations (public fields only). Every value reaches SQL as a bound parameter.

Tiles made are kept in a bounded in-process cache with the fingerprint of the rows they were
made from (`cached_tile`); a request costs one small query while nothing in its tile changed.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from api.storage import models
from api.storage.versioned import VersionedCache, row_versions
from geo.errors import InputError

G, B, S = models.Grid, models.Building, models.Station
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 24
LAYERS = ("grids", "micro_grids", "buildings", "stations")


def check_tile(z: int, x: int, y: int) -> None:
    """InputError unless 0 <= z <= MAX_ZOOM and x, y lie in the 2^z × 2^z tile grid."""
    if not 0 <= z <= MAX_ZOOM:
        msg = f"zoom {z} is out of range 0–{MAX_ZOOM}"
        raise InputError(msg)
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        msg = f"tile {z}/{x}/{y} does not exist: x and y must lie in 0–{n - 1} at zoom {z}"
        raise InputError(msg)


def _columns(layer: str) -> tuple[list[ColumnElement], list]:
    """(attribute columns, where clauses) of a layer."""
    if layer in ("grids", "micro_grids"):
        level = "grid" if layer == "grids" else "micro"
        community = (
            select(models.Community.code)
            .where(models.Community.id == G.community_id)
            .scalar_subquery()
        )
        columns = [
            G.code,
            G.level,
            G.parent_code,
            G.households,
            G.locked,
            community.label("community_code"),
            func.coalesce(func.jsonb_array_length(G.members), 0).label("building_count"),
        ]
        return columns, [G.valid_to.is_(None), G.level == level]
    if layer == "buildings":
        return [B.building_id, B.households], []
    if layer == "stations":
        return [S.station_id, S.name, S.type, S.stars], []
    msg = f"unknown tile layer {layer!r}: expected one of {', '.join(LAYERS)}"
    raise InputError(msg)


def _geometry(layer: str):
    if layer in ("grids", "micro_grids"):
        return G.geom
    if layer == "buildings":
        return func.coalesce(B.footprint, B.location)
    return S.geom


def _meets(layer: str, geometry, area) -> ColumnElement:
    """The rows meeting the tile's area, each through a GiST index."""
    if layer == "buildings":
        return or_(
            func.ST_Intersects(B.footprint, area),
            and_(B.footprint.is_(None), func.ST_Intersects(B.location, area)),
        )
    return func.ST_Intersects(geometry, area)


def tile(session: Session, layer: str, z: int, x: int, y: int) -> bytes:
    """The layer's features in tile z/x/y as one Mapbox Vector Tile layer named `layer`
    (empty bytes when none lie there)."""
    check_tile(z, x, y)
    columns, where = _columns(layer)
    geometry = _geometry(layer)
    envelope = func.ST_TileEnvelope(z, x, y)
    area = func.ST_Transform(envelope, models.SRID)
    mvt_geom = func.ST_AsMVTGeom(
        func.ST_Transform(geometry, 3857), envelope, EXTENT, BUFFER, True
    ).label("geom")
    rows = select(*columns, mvt_geom).where(*where, _meets(layer, geometry, area)).subquery("t")
    query = select(func.ST_AsMVT(rows.table_valued(), layer, EXTENT, "geom"))
    data = session.execute(query).scalar_one()
    return bytes(data) if data else b""


def fingerprint(session: Session, layer: str, z: int, x: int, y: int) -> tuple[int, ...]:
    """Changes whenever a row of `layer` meeting tile z/x/y is added, removed or edited (for the
    grid layers also any community, whose code the tile carries)."""
    check_tile(z, x, y)
    _, where = _columns(layer)
    geometry = _geometry(layer)
    model = {"grids": G, "micro_grids": G, "buildings": B, "stations": S}[layer]
    area = func.ST_Transform(func.ST_TileEnvelope(z, x, y), models.SRID)
    rows = _meets(layer, geometry, area)
    query = select(*row_versions(model)).select_from(model).where(*where, rows)
    if model is G:
        communities = row_versions(models.Community)
        query = query.add_columns(
            *(select(v).select_from(models.Community).scalar_subquery() for v in communities)
        )
    return tuple(int(v) for v in session.execute(query).one())


CACHE = VersionedCache(max_bytes=64 * 1024 * 1024)  # the tiles last made


def cached_tile(session: Session, layer: str, z: int, x: int, y: int) -> tuple[str, bytes]:
    """(ETag, tile) of `layer` at z/x/y: the cached tile while its fingerprint holds, else made
    anew. The fingerprint is read first, so a change committed meanwhile only makes a newer
    tile cached under the older fingerprint, never the reverse."""
    version = fingerprint(session, layer, z, x, y)
    key = (str(session.get_bind().url), layer, z, x, y)
    data = CACHE.get(key, version)
    if data is None:
        data = tile(session, layer, z, x, y)
        CACHE.put(key, version, data)
    digest = hashlib.sha256(repr((layer, z, x, y, version)).encode()).hexdigest()[:24]
    return f'"{digest}"', data
