"""Grid layers in PostGIS: read what generation needs, write a new version, read it back.

Queries never commit; the caller owns the transaction. A regeneration of a community closes its
current rows (``valid_to``) and inserts the new ones with ``version`` = that code's previous
version + 1 (1 for a code never seen), all stamped with one timestamp, so a layer can be read back
as it stood at any moment (``valid_from <= at < valid_to``).

Which buildings belong to a community is decided by its polygon: a building's location (a point on
its footprint) must lie in it. Where a location lies in two polygons (on a shared edge), the
building goes to the community its ``community_id`` names, else to the lower code, so a building is
never counted twice and the choice does not depend on which communities a run selects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import shapely
from geoalchemy2.elements import WKBElement
from sqlalchemy import Select, and_, delete, func, insert, or_, select, true, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, aliased

from api.errors import NotFoundError
from api.storage import models
from api.storage.map_data import building_title

G, B, C = models.Grid, models.Building, models.Community

BUILDING_COLUMNS = [
    "building_id", "households", "households_estimated", "units", "floors", "compound", "title",
    "geometry",
]  # fmt: skip


@dataclass(frozen=True)
class Area:
    """A community to divide: its id, code, name and polygon (None when it has none)."""

    id: int
    code: str
    name: str
    geom: shapely.Geometry | None


# -- selection ---------------------------------------------------------------------------------


def select_communities(
    session: Session,
    *,
    community: Sequence[str] = (),
    street: Sequence[str] = (),
    every: bool = False,
) -> list[Area]:
    """The communities named by code, those of the named street offices, or all of them.

    Raises NotFoundError for a code that is not stored (a street office without communities
    counts as unknown too). The result is ordered by code and has no duplicates.
    """
    query = select(C.id, C.code, C.name, func.ST_AsBinary(C.geom)).order_by(C.code)
    if not every:
        if community:
            stored = set(session.execute(select(C.code).where(C.code.in_(community))).scalars())
            if missing := sorted(set(community) - stored):
                msg = f"unknown community code(s): {', '.join(missing)}"
                raise NotFoundError(msg)
        if street:
            stored = set(
                session.execute(
                    select(models.Street.code)
                    .join(C, C.street_id == models.Street.id)
                    .where(models.Street.code.in_(street))
                ).scalars()
            )
            if missing := sorted(set(street) - stored):
                listed = ", ".join(missing)
                msg = f"unknown street code(s), or street(s) without communities: {listed}"
                raise NotFoundError(msg)
        in_street = select(models.Street.id).where(models.Street.code.in_(street))
        query = query.where(or_(C.code.in_(community), C.street_id.in_(in_street)))
    return [
        Area(i, code, name, None if wkb is None else shapely.from_wkb(bytes(wkb)))
        for i, code, name, wkb in session.execute(query)
    ]


def lock_communities(session: Session, ids: Iterable[int]) -> datetime:
    """Lock the communities' rows until the transaction ends; return the run's timestamp.

    Concurrent regenerations of the same community wait for each other, and the timestamp is
    taken after the lock, so it is later than any version committed before.
    """
    session.execute(select(C.id).where(C.id.in_(list(ids))).order_by(C.id).with_for_update())
    return session.execute(select(func.clock_timestamp())).scalar_one()


# -- reading inputs ----------------------------------------------------------------------------


def _owner_query(community_ids: Sequence[int]) -> Select:
    """(building id, community id) for buildings lying in one of `community_ids`' polygons."""
    chosen = aliased(C)
    candidates = (
        select(B.id)
        .join(chosen, func.ST_Intersects(chosen.geom, B.location))
        .where(chosen.id.in_(community_ids))
    )
    return (
        select(B.id.label("building"), C.id.label("community"))
        .join(C, and_(C.geom.is_not(None), func.ST_Intersects(C.geom, B.location)))
        .where(B.id.in_(candidates))
        .order_by(B.id, (C.id == B.community_id).is_(true()).desc(), C.code)
        .ext(distinct_on(B.id))
    )


def read_buildings(session: Session, area: Area) -> gpd.GeoDataFrame:
    """The buildings in `area`'s polygon, as generate_grids wants them (EPSG:4326).

    Columns: building_id, households, households_estimated, units, floors, compound (the
    compound's id string), title (what a person reads: name, address or 未命名楼栋, never the id),
    geometry (footprint, or the location point where there is none).
    """
    owner = _owner_query([area.id]).subquery()
    query = (
        select(
            B.building_id,
            B.households,
            B.households_estimated,
            B.units,
            B.floors,
            models.Compound.compound_id,
            B.name,
            B.address,
            B.building_type,
            func.ST_AsBinary(func.coalesce(B.footprint, B.location)),
        )
        .join(owner, owner.c.building == B.id)
        .outerjoin(models.Compound, models.Compound.id == B.compound_id)
        .where(owner.c.community == area.id)
        .order_by(B.building_id)
    )
    rows = session.execute(query).all()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in range(10)]
    *kept, names, addresses, kinds, wkbs = columns
    data = dict(zip(BUILDING_COLUMNS[:6], kept, strict=True))
    data["title"] = [
        building_title(*row) for row in zip(names, addresses, kinds, kept[1], strict=True)
    ]
    geoms = shapely.from_wkb([bytes(g) for g in wkbs]) if rows else []
    frame = gpd.GeoDataFrame(data, geometry=list(geoms), crs=models.SRID)
    for column in ("households", "units", "floors"):
        frame[column] = frame[column].astype("Int64" if column != "households" else "int64")
    return frame


def buildings_outside(session: Session, area: Area) -> tuple[int, int]:
    """Buildings (and their households) whose community_id is `area` but lie outside its polygon."""
    owner = _owner_query([area.id]).subquery()
    inside = select(owner.c.building).where(owner.c.community == area.id)
    query = select(func.count(), func.coalesce(func.sum(B.households), 0)).where(
        B.community_id == area.id, B.id.not_in(inside)
    )
    count, households = session.execute(query).one()
    return int(count), int(households)


def read_roads(session: Session, area: Area) -> gpd.GeoDataFrame:
    """Roads, then water and rail lines (barriers), touching `area`'s polygon, with their
    `class` (OSM highway, waterway or railway value, or 'water')."""
    polygon = select(C.geom).where(C.id == area.id).scalar_subquery()
    query = select(models.Road.class_, func.ST_AsBinary(models.Road.geom)).where(
        func.ST_Intersects(models.Road.geom, polygon)
    )
    rows = session.execute(query.order_by(models.Road.id)).all()
    water_rail = select(models.Barrier.class_, func.ST_AsBinary(models.Barrier.geom)).where(
        func.ST_Intersects(models.Barrier.geom, polygon)
    )
    rows += session.execute(water_rail.order_by(models.Barrier.id)).all()
    classes = [r[0] for r in rows]
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows]) if rows else []
    return gpd.GeoDataFrame({"class": classes}, geometry=list(geoms), crs=models.SRID)


def locked_codes(session: Session, area: Area) -> list[str]:
    """Codes of the community's current grids that planners have locked."""
    query = select(G.code).where(G.community_id == area.id, G.valid_to.is_(None), G.locked)
    return list(session.execute(query.order_by(G.code)).scalars())


# -- writing a version -------------------------------------------------------------------------


def _polygon(geom: shapely.Geometry) -> tuple[shapely.Geometry, float]:
    """A valid Polygon for the POLYGON column and the share of the area it leaves out.

    The engine returns a region whose cells it could not join into one polygon as several;
    the grids table holds single polygons, so the largest part is kept and the rest reported.
    """
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type == "Polygon":
        return geom, 0.0
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    largest = max(parts, key=lambda p: p.area)
    total = sum(p.area for p in parts)
    return largest, (1 - largest.area / total) if total else 0.0


@dataclass
class Written:
    """What write_version stored: the version of each code, and the grids stored without
    some of their land (code → share of the area left out; see _polygon)."""

    versions: dict[str, int]
    trimmed: dict[str, float]


def write_version(
    session: Session, area: Area, grids: gpd.GeoDataFrame, *, at: datetime
) -> Written:
    """Close `area`'s current grids and insert `grids` as their next version, stamped `at`.

    `grids` is a generate_grids frame (EPSG:4326, code, level, parent_code, households,
    members, geometry; optionally `locked`, False where missing). Every current row of the
    community is closed, both levels, whatever level `grids` holds: micro-grids of replaced
    grids would no longer nest.
    """
    if grids.crs is None or grids.crs.to_epsg() != models.SRID:
        msg = f"grids must be in EPSG:{models.SRID}, got {grids.crs}"
        raise ValueError(msg)
    codes = [str(c) for c in grids["code"]]
    previous = dict(
        session.execute(
            select(G.code, func.max(G.version)).where(G.code.in_(codes)).group_by(G.code)
        ).all()
    )
    session.execute(
        update(G)
        .where(or_(G.community_id == area.id, G.code.in_(codes)), G.valid_to.is_(None))
        .values(valid_to=at)
    )
    fixed = [_polygon(g) for g in grids.geometry]
    wkb = shapely.to_wkb(np.asarray([g for g, _ in fixed], dtype=object), include_srid=False)
    trimmed = {code: share for code, (_, share) in zip(codes, fixed, strict=True) if share > 0}
    versions = {code: previous.get(code, 0) + 1 for code in codes}
    locked = grids["locked"] if "locked" in grids.columns else [False] * len(codes)
    rows = [
        {
            "code": code,
            "level": str(level),
            "parent_code": None if parent is None or parent != parent else str(parent),
            "community_id": area.id,
            "households": int(households),
            "members": [[str(b), int(h)] for b, h in members],
            "version": versions[code],
            "locked": bool(lock) if isinstance(lock, bool | np.bool_) else False,
            "valid_from": at,
            "geom": WKBElement(raw, srid=models.SRID),
        }
        for code, level, parent, households, members, lock, raw in zip(
            codes,
            grids["level"],
            grids["parent_code"],
            grids["households"],
            grids["members"],
            locked,
            wkb,
            strict=True,
        )
    ]
    if rows:
        session.execute(insert(G), rows)
    return Written(versions, trimmed)


# -- worker assignment -------------------------------------------------------------------------


def community_workers(session: Session, community_id: int) -> dict[str, list[int]]:
    """The community's on-duty workers' ids by role, each list ordered by worker_id."""
    query = (
        select(models.Worker.role, models.Worker.id)
        .where(models.Worker.community_id == community_id, models.Worker.on_duty)
        .order_by(models.Worker.worker_id)
    )
    out: dict[str, list[int]] = {}
    for role, worker in session.execute(query):
        out.setdefault(role, []).append(worker)
    return out


def current_codes(session: Session, community_id: int, *, level: str = "grid") -> list[str]:
    query = select(G.code).where(
        G.community_id == community_id, G.level == level, G.valid_to.is_(None)
    )
    return list(session.execute(query.order_by(G.code)).scalars())


def replace_assignments(
    session: Session, worker_ids: Iterable[int], pairs: Iterable[tuple[int, str]]
) -> int:
    """Drop the grids of `worker_ids` and store `pairs` (worker id, grid code) instead."""
    worker_ids = list(worker_ids)
    if worker_ids:
        session.execute(
            delete(models.WorkerGrid).where(models.WorkerGrid.worker_id.in_(worker_ids))
        )
    rows = [{"worker_id": w, "grid_code": code} for w, code in sorted(set(pairs))]
    if rows:
        session.execute(insert(models.WorkerGrid), rows)
    return len(rows)


# -- reading layers back -----------------------------------------------------------------------


def _layer_query() -> Select:
    return (
        select(
            G.code,
            G.level,
            G.parent_code,
            G.households,
            C.code.label("community_code"),
            G.version,
            G.valid_from,
            G.valid_to,
            G.locked,
            G.members,
            func.ST_AsGeoJSON(G.geom, 7).label("geometry"),
        )
        .outerjoin(C, C.id == G.community_id)
        .order_by(G.code, G.version)
    )


def grid_rows(
    session: Session,
    *,
    level: str | None = None,
    community: str | None = None,
    version: int | None = None,
    at: datetime | None = None,
) -> list[dict]:
    """Grid rows as dicts (geometry as GeoJSON text).

    Without `version` or `at`: the current layer. With `at`: the rows valid at that moment. With
    `version`: each code's row of that version (codes are versioned one by one; for a
    consistent past layer ask for `at`).
    """
    query = _layer_query()
    if level is not None:
        query = query.where(G.level == level)
    if community is not None:
        if session.execute(select(C.id).where(C.code == community)).first() is None:
            msg = f"unknown community code {community}"
            raise NotFoundError(msg)
        query = query.where(C.code == community)
    if version is not None:
        query = query.where(G.version == version)
    elif at is not None:
        query = query.where(G.valid_from <= at, or_(G.valid_to.is_(None), G.valid_to > at))
    else:
        query = query.where(G.valid_to.is_(None))
    return [dict(row._mapping) for row in session.execute(query)]


def grid_history(session: Session, code: str) -> list[dict]:
    """Every version of one grid, oldest first; NotFoundError when the code was never stored."""
    rows = [dict(r._mapping) for r in session.execute(_layer_query().where(G.code == code))]
    if not rows:
        msg = f"no grid with code {code}"
        raise NotFoundError(msg)
    return rows


# -- editing: whole layers, layer versions, locks ----------------------------------------------


@dataclass(frozen=True)
class LayerVersion:
    """One version of a community's layer: the rows one write inserted (one ``valid_from``).

    Layer versions are numbered 1, 2, … in the order they were written; a grid's own
    ``version`` counts the versions of its code and can differ (a code that first appears in
    the community's third layer is version 1 of that code).
    """

    version: int
    valid_from: datetime
    valid_to: datetime | None  # None for the current version
    grids: int
    micro_grids: int
    households: int  # of the top level (grids; micro-grids in a layer of micro-grids only)


def layer_versions(session: Session, area: Area) -> list[LayerVersion]:
    """Every version of `area`'s layer, oldest first (empty when it has none)."""
    is_grid = G.level == "grid"
    query = (
        select(
            G.valid_from,
            func.max(G.valid_to),
            func.bool_or(G.valid_to.is_(None)),
            func.count().filter(is_grid),
            func.count().filter(~is_grid),
            func.coalesce(func.sum(G.households).filter(is_grid), 0),
            func.coalesce(func.sum(G.households).filter(~is_grid), 0),
        )
        .where(G.community_id == area.id)
        .group_by(G.valid_from)
        .order_by(G.valid_from)
    )
    return [
        LayerVersion(
            k,
            valid_from,
            None if current else valid_to,
            int(grids),
            int(micro),
            int(grid_households if grids else micro_households),
        )
        for k, (valid_from, valid_to, current, grids, micro, grid_households, micro_households)
        in enumerate(session.execute(query), start=1)
    ]  # fmt: skip


def layer_version(session: Session, area: Area) -> int:
    """The number of `area`'s current layer version (0 when it has no grids)."""
    query = select(func.count(func.distinct(G.valid_from))).where(G.community_id == area.id)
    return int(session.execute(query).scalar_one())


LAYER_COLUMNS = ["code", "level", "parent_code", "households", "members", "locked", "version"]


def read_layer(
    session: Session, area: Area, *, written_at: datetime | None = None
) -> gpd.GeoDataFrame:
    """`area`'s current layer (or the version written at `written_at`), both levels, by code.

    Columns: code, level, parent_code, households, members, locked, version and the exact
    stored polygon (EPSG:4326, read as WKB: no rounding).
    """
    query = select(
        G.code,
        G.level,
        G.parent_code,
        G.households,
        G.members,
        G.locked,
        G.version,
        func.ST_AsBinary(G.geom),
    ).where(G.community_id == area.id)
    if written_at is None:
        query = query.where(G.valid_to.is_(None))
    else:
        query = query.where(G.valid_from == written_at)
    rows = session.execute(query.order_by(G.code)).all()
    data = {name: [r[k] for r in rows] for k, name in enumerate(LAYER_COLUMNS)}
    data["members"] = [m or [] for m in data["members"]]
    geoms = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else []
    frame = gpd.GeoDataFrame(data, geometry=list(geoms), crs=models.SRID)
    frame["households"] = frame["households"].astype("int64")
    frame["locked"] = frame["locked"].astype(bool)
    return frame


def current_grids(session: Session, codes: Sequence[str]) -> list[dict]:
    """The current rows of `codes`: code, level, parent_code, locked, community_id, and
    community_code. NotFoundError names the codes without a current row."""
    query = (
        select(G.code, G.level, G.parent_code, G.locked, G.community_id, C.code.label("community"))
        .outerjoin(C, C.id == G.community_id)
        .where(G.code.in_(list(codes)), G.valid_to.is_(None))
        .order_by(G.code)
    )
    found = [dict(r._mapping) for r in session.execute(query)]
    if missing := sorted(set(codes) - {r["code"] for r in found}):
        msg = f"no current grid with code(s) {', '.join(missing)}"
        raise NotFoundError(msg)
    return found


def set_locked(session: Session, codes: Sequence[str], *, locked: bool) -> int:
    """Set `locked` on the current rows of `codes` in place (no new version); rows changed."""
    result = session.execute(
        update(G)
        .where(G.code.in_(list(codes)), G.valid_to.is_(None), G.locked.is_not(locked))
        .values(locked=locked)
    )
    return int(result.rowcount or 0)
